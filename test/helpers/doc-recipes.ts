/**
 * Reads the recipes of a docs page so a test runs exactly what the page says: fenced blocks
 * tagged `site=NAME` (a `tsgi serve` command line, or its JSON config file) and `file=PATH`
 * (a file the recipe needs), with `/srv` moved to a scratch folder.
 */
import { readFileSync } from 'node:fs';
import { fromRoot } from './paths.js';

export interface Recipe {
  /** The command line's words after `tsgi`. */
  args: string[];
  /** The JSON config file's text. */
  config: string;
}

export interface RecipePage {
  recipes: Map<string, Recipe>;
  /** PATH to contents, for the `file=PATH` blocks. */
  files: Map<string, string>;
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

export function readRecipes(page: string, srv: string): RecipePage {
  const text = readFileSync(fromRoot('docs', page), 'utf8');
  const recipes = new Map<string, Recipe>();
  const files = new Map<string, string>();
  const move = (body: string) => body.replaceAll('/srv/', srv + '/').replaceAll('/srv"', srv + '"').replaceAll("/srv'", srv + "'");
  for (const match of text.matchAll(/^```(\w+) (site|file)=(\S+)\n([\s\S]*?)^```$/gm)) {
    const [, language, kind, name, body] = match as unknown as [string, string, string, string, string];
    if (kind === 'file') {
      files.set(move(name), move(body));
      continue;
    }
    const recipe = recipes.get(name) ?? { args: [], config: '' };
    if (language === 'json') recipe.config = move(body);
    else {
      const words = shellWords(move(body).trim());
      if (words[0] !== 'tsgi') throw new Error(`the ${name} command line in ${page} does not start with tsgi`);
      recipe.args = words.slice(1);
    }
    recipes.set(name, recipe);
  }
  return { recipes, files };
}
