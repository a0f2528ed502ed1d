// Python's repr() of the values a form holds, so error messages and FieldStorage.repr() quote
// them the way Python does.

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function quoteFor(text: string): string {
  return text.includes("'") && !text.includes('"') ? '"' : "'";
}

/** `repr(str)`: printable characters as they are, the rest escaped (a lone surrogate as `\udcff`). */
export function reprString(text: string): string {
  const quote = quoteFor(text);
  let out = quote;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ESCAPES[ch]) out += ESCAPES[ch];
    else if (ch === quote) out += '\\' + ch;
    else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c === 0xad) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\u' + c.toString(16); // only a lone one iterates alone
    else out += ch;
  }
  return out + quote;
}

/** `repr(bytes)`: b'...' with non-ASCII and controls as \xNN. */
export function reprBytes(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const quote = quoteFor(text);
  let out = 'b' + quote;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const c = text.charCodeAt(i);
    if (ESCAPES[ch]) out += ESCAPES[ch];
    else if (ch === quote) out += '\\' + ch;
    else if (c < 0x20 || c >= 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}
