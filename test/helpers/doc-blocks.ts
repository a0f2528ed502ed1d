/**
 * The fenced code blocks of a docs page, so a test runs or checks exactly what the page
 * shows. A block's info string is its language and then `key=value` tags (` ```sh site=git `,
 * ` ```nginx setup=calculator `) by which a test finds the block it shares with the page.
 */
import { readFileSync } from 'node:fs';
import { fromRoot } from './paths.js';

export interface DocBlock {
  /** The page, relative to the repository root (`README.md`, `docs/php.md`). */
  page: string;
  /** The line of the opening fence, for messages. */
  line: number;
  /** The first word of the info string; '' for a bare fence. */
  language: string;
  tags: Record<string, string>;
  /** The text between the fences, ending with a newline. */
  code: string;
}

export function readBlocks(page: string): DocBlock[] {
  const text = readFileSync(fromRoot(page), 'utf8');
  const blocks: DocBlock[] = [];
  for (const match of text.matchAll(/^```([^\n`]*)\n([\s\S]*?)^```$/gm)) {
    const [language = '', ...words] = match[1]!.trim().split(/\s+/);
    const tags: Record<string, string> = {};
    for (const word of words) {
      const equals = word.indexOf('=');
      if (equals < 1) throw new Error(`${page}: the info string of a block has ${JSON.stringify(word)}, not key=value`);
      tags[word.slice(0, equals)] = word.slice(equals + 1);
    }
    const line = text.slice(0, match.index).split('\n').length;
    blocks.push({ page, line, language, tags, code: match[2]! });
  }
  return blocks;
}

/** The page's blocks, taken one by one by the tests that cover them, so a test can check that none is left. */
export class DocPage {
  readonly blocks: DocBlock[];
  private readonly taken = new Set<DocBlock>();

  constructor(readonly page: string) {
    this.blocks = readBlocks(page);
  }

  /** The one block of `language` that contains `text`, or carries it when it is a tag (`setup=calculator`). */
  take(language: string, text: string | RegExp): DocBlock {
    const found = this.blocks.filter((block) => block.language === language && matches(block, text));
    if (found.length !== 1) throw new Error(`${this.page}: ${found.length} \`${language}\` blocks match ${String(text)}, expected one`);
    const block = found[0]!;
    if (this.taken.has(block)) throw new Error(`${this.page}:${block.line}: the block is taken twice`);
    this.taken.add(block);
    return block;
  }

  /** Blocks no test took, as `page:line language`. */
  untaken(): string[] {
    return this.blocks.filter((block) => !this.taken.has(block)).map((block) => `${block.page}:${block.line} ${block.language || '(bare)'}`);
  }
}

/** The tags pages use: `site=` and `file=` (docs/sites.md's recipes), `setup=` (a command line and the web server config run with it). */
const TAG = /^(site|file|setup)=(\S+)$/;

function matches(block: DocBlock, text: string | RegExp): boolean {
  if (typeof text !== 'string') return text.test(block.code);
  const tag = TAG.exec(text);
  if (tag) return block.tags[tag[1]!] === tag[2];
  return block.code.includes(text);
}

/**
 * Applies the changes a test needs (a port, a path moved to a scratch folder), each of which
 * must still apply: a replacement that no longer finds its text fails, rather than letting the
 * test silently run something other than the page.
 */
export function adapt(code: string, changes: readonly (readonly [string | RegExp, string])[]): string {
  let out = code;
  for (const [from, to] of changes) {
    const found = typeof from === 'string' ? out.includes(from) : from.test(out);
    if (!found) throw new Error(`the sample no longer contains ${String(from)}:\n${out}`);
    out = typeof from === 'string' ? out.replaceAll(from, to) : out.replace(new RegExp(from.source, from.flags.includes('g') ? from.flags : from.flags + 'g'), to);
  }
  return out;
}

/** The commands of an `sh` block: comments dropped, `\` continuations joined, one entry per command line. */
export function commandLines(code: string): string[] {
  return code
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** Splits a shell command line as sh would for the quoting the docs use: '...', "...", \\ newlines. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && line[i + 1] === '\n') {
      i++;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unclosed ${c} in ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
      continue;
    }
    word = (word ?? '') + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The page's `/srv/...` paths (and `/srv` itself, quoted) moved into the folder `srv`. */
export function moveSrv(text: string, srv: string): string {
  return text.replaceAll('/srv/', srv + '/').replaceAll('/srv"', srv + '"').replaceAll("/srv'", srv + "'");
}
