/** Command-line arguments for a script: fixed ones, plus RFC 3875 §4.4 "isindex" words when enabled. */

/**
 * The isindex words of a query (no unencoded `=`, split on `+`, then decoded), or none when
 * a word would start with `-`: that is how `?-s` read php-cgi's source (CVE-2012-1823).
 */
export function isindexWords(query: string): string[] {
  if (query === '' || query.includes('=')) return [];
  const words: string[] = [];
  for (const part of query.split('+')) {
    let word: string;
    try {
      word = decodeURIComponent(part);
    } catch {
      return [];
    }
    // Dash look-alikes too: Windows best-fit mapping turned a soft hyphen into '-' (CVE-2024-4577).
    if (/^[-\u00ad\u2010-\u2015\u2212]/.test(word) || word.includes('\0')) return [];
    words.push(word);
  }
  return words;
}
