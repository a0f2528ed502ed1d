/**
 * A site config file for a command: a JSON object whose keys are the command's long flag names,
 * read into the shape parseArgs gives, so a command can take its settings from flags or a file.
 * Comments and trailing commas are allowed: site files live under version control and get annotated.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Node as JsonNode, ParseError } from 'jsonc-parser';
import { type OptionSpec, UsageError } from './args.js';

export interface ConfigValues { [flag: string]: string | boolean | string[] | undefined }

export interface ConfigFile {
  values: ConfigValues;
  /** The key "dir", when `positionals` allows it and the file gives it. */
  dir?: string;
  /** Every positional key the file gives, "dir" included. */
  positionals: { [name: string]: string };
  /** The absolute folder the file is in, for resolving the relative paths it names. */
  baseDir: string;
}

/**
 * Reads FILE against the option spec (the same object passed to parseCommandLine). Values come back
 * in the shape parseArgs gives: string for type 'string', boolean for 'boolean', string[] for options
 * with multiple: true. `positionals` names the keys allowed that stand for positionals, e.g. ['dir'].
 * Every mistake is a UsageError naming the file, line, column and key.
 */
export async function readConfigFile(file: string, options: OptionSpec, positionals: string[] = []): Promise<ConfigFile> {
  for (const [name, spec] of Object.entries(options)) {
    if (spec.type === 'boolean' && spec.multiple) throw new TypeError(`readConfigFile: option ${name} is a boolean with multiple: true, which a config file cannot give`);
  }
  const text = stripBom(await readText(file));
  // Loaded here, not at the top: commands run without --config never need the parser.
  const jsonc = await import('jsonc-parser');
  const errors: ParseError[] = [];
  const root = jsonc.parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const where = (offset: number): string => `${file}:${lineAndColumn(text, offset)}`;
  const tokens = tokenSpans(jsonc, text);
  if (tokens.length === 0 && errors.every((error) => error.error === jsonc.ParseErrorCode.ValueExpected)) {
    throw new UsageError(`${file}: the file is empty; it should hold a JSON object of settings, like {"port": 8080}`);
  }
  const first = errors[0];
  if (first !== undefined) {
    // A missing comma or colon belongs right after the token before it, which may be lines earlier.
    const missing = first.error === jsonc.ParseErrorCode.CommaExpected || first.error === jsonc.ParseErrorCode.ColonExpected;
    const offset = missing ? endOfTokenBefore(tokens, first.offset) : first.offset;
    throw new UsageError(`${where(offset)}: JSON syntax: ${describeSyntaxError(jsonc, first, text)}`);
  }
  if (root === undefined || root.type !== 'object') {
    throw new UsageError(`${where(root?.offset ?? 0)}: the settings must be a JSON object, like {"port": 8080}, got ${root ? describeNode(root) : 'nothing'}`);
  }

  const result: ConfigFile = { values: {}, positionals: {}, baseDir: dirname(resolve(file)) };
  const seen = new Map<string, number>();
  for (const property of root.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    if (keyNode === undefined || valueNode === undefined) continue;
    const key = keyNode.value as string;
    const before = seen.get(key);
    if (before !== undefined) throw new UsageError(`${where(keyNode.offset)}: ${JSON.stringify(key)} is given twice (first on line ${lineOf(text, before)})`);
    seen.set(key, keyNode.offset);
    const fail = (node: JsonNode, message: string): never => { throw new UsageError(`${where(node.offset)}: ${JSON.stringify(key)} ${message}`); };

    const spec = key !== 'help' && Object.hasOwn(options, key) ? options[key] : undefined;
    if (spec === undefined) {
      if (!positionals.includes(key)) fail(keyNode, notASetting(key, options, positionals));
      if (valueNode.type !== 'string') fail(valueNode, `takes a string, got ${describeNode(valueNode)}`);
      result.positionals[key] = valueNode.value as string;
      if (key === 'dir') result.dir = valueNode.value as string;
      continue;
    }
    result.values[key] = settingValue(spec, valueNode, fail);
  }
  return result;
}

function notASetting(key: string, options: OptionSpec, positionals: string[]): string {
  if (key === 'help') return 'is not a setting: it is a flag for the command line only';
  const guess = nearestKey(key, options, positionals);
  return `is not a setting${guess === undefined ? '' : ` (did you mean "${guess}"?)`}`;
}

/** The value of one setting in the shape parseArgs gives for its option. */
function settingValue(spec: OptionSpec[string], node: JsonNode, fail: (node: JsonNode, message: string) => never): string | boolean | string[] {
  if (spec.type === 'boolean') {
    return node.type === 'boolean' ? node.value as boolean : fail(node, `takes true or false, got ${describeNode(node)}`);
  }
  if (!spec.multiple) return scalarText(node) ?? fail(node, `takes a string or a number, got ${describeNode(node)}`);
  if (node.type !== 'array') return [scalarText(node) ?? fail(node, `takes a string or a list of strings, got ${describeNode(node)}`)];
  return (node.children ?? []).map((item, index) => scalarText(item) ?? fail(item, `takes a list of strings, got ${describeNode(item)} at item ${index + 1}`));
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file'
      : code === 'EISDIR' ? 'is a folder, not a file'
      : code === 'EACCES' ? 'not allowed to read it'
      : (error as Error).message;
    throw new UsageError(`${file}: cannot read the config file: ${reason}`);
  }
}

/** Editors on Windows start UTF-8 files with a byte-order mark, which JSON does not allow. */
function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The value as parseArgs would give it for a string option: strings as they are, numbers as written. */
function scalarText(node: JsonNode): string | undefined {
  if (node.type === 'string') return node.value as string;
  if (node.type === 'number') return String(node.value);
  return undefined;
}

function describeNode(node: JsonNode): string {
  switch (node.type) {
    case 'object': return 'an object';
    case 'array': return 'a list';
    case 'string': {
      const value = node.value as string;
      return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}...` : JSON.stringify(value);
    }
    default: return String(node.value);
  }
}

type Jsonc = typeof import('jsonc-parser');

/** Start and end offsets of each token other than comments and white space. */
function tokenSpans(jsonc: Jsonc, text: string): [number, number][] {
  const scanner = jsonc.createScanner(text, true);
  const spans: [number, number][] = [];
  for (let kind = scanner.scan(); kind !== jsonc.SyntaxKind.EOF; kind = scanner.scan()) {
    spans.push([scanner.getTokenOffset(), scanner.getTokenOffset() + scanner.getTokenLength()]);
  }
  return spans;
}

function endOfTokenBefore(tokens: [number, number][], offset: number): number {
  let end = offset;
  for (const [start, stop] of tokens) {
    if (start >= offset) break;
    end = stop;
  }
  return end;
}

function describeSyntaxError(jsonc: Jsonc, error: ParseError, text: string): string {
  switch (error.error) {
    case jsonc.ParseErrorCode.InvalidSymbol: {
      const found = text.slice(error.offset, error.offset + Math.min(error.length, 20));
      return `unexpected ${JSON.stringify(found)} (keys and strings go in double quotes)`;
    }
    case jsonc.ParseErrorCode.InvalidNumberFormat: return 'a number is not written the JSON way';
    case jsonc.ParseErrorCode.PropertyNameExpected: return 'expected a key in double quotes';
    case jsonc.ParseErrorCode.ValueExpected: return 'expected a value';
    case jsonc.ParseErrorCode.ColonExpected: return 'expected a colon';
    case jsonc.ParseErrorCode.CommaExpected: return 'expected a comma';
    case jsonc.ParseErrorCode.CloseBraceExpected: return 'expected }';
    case jsonc.ParseErrorCode.CloseBracketExpected: return 'expected ]';
    case jsonc.ParseErrorCode.EndOfFileExpected: return 'more text after the closing }';
    case jsonc.ParseErrorCode.InvalidCommentToken: return 'a comment starts with // or /*';
    case jsonc.ParseErrorCode.UnexpectedEndOfComment: return 'a /* comment is not closed with */';
    case jsonc.ParseErrorCode.UnexpectedEndOfString: return 'a string does not end with " on its line';
    case jsonc.ParseErrorCode.UnexpectedEndOfNumber: return 'a number is cut short';
    case jsonc.ParseErrorCode.InvalidUnicode: return 'a \\u escape needs four hex digits';
    case jsonc.ParseErrorCode.InvalidEscapeCharacter: return 'a string has a \\ escape JSON does not know';
    case jsonc.ParseErrorCode.InvalidCharacter: return 'a string holds a control character (write a tab as \\t)';
    default: return jsonc.printParseErrorCode(error.error);
  }
}

/** "line:column", both counted from 1, columns in characters. */
function lineAndColumn(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return `${lineOf(text, offset)}:${[...text.slice(lineStart, offset)].length + 1}`;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) line++;
  return line;
}

/** The known key closest to a mistyped one, if it is within two edits; "--port" and short flags count too. */
function nearestKey(key: string, options: OptionSpec, positionals: string[]): string | undefined {
  const known = [...Object.keys(options).filter((name) => name !== 'help'), ...positionals];
  const bare = key.replace(/^-+/, '');
  const byShort = Object.entries(options).find(([name, spec]) => name !== 'help' && spec.short === bare)?.[0];
  if (byShort !== undefined) return byShort;
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const distance = editDistance(bare, name);
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

/** Levenshtein distance with swapped neighbours counting as one edit ("prot" is one from "port"). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = distance;
    }
  }
  return rows[a.length]![b.length]!;
}
