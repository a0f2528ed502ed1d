/**
 * Reads the recipes of a docs page so a test runs exactly what the page says: fenced blocks
 * tagged `site=NAME` (a `tsgi serve` command line, or its JSON config file) and `file=PATH`
 * (a file the recipe needs), with `/srv` moved to a scratch folder.
 */
import { moveSrv, readBlocks, shellWords } from './doc-blocks.js';

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

export function readRecipes(page: string, srv: string): RecipePage {
  const recipes = new Map<string, Recipe>();
  const files = new Map<string, string>();
  const move = (body: string) => moveSrv(body, srv);
  for (const { language, tags, code } of readBlocks(`docs/${page}`)) {
    if (tags.file !== undefined) {
      files.set(move(tags.file), move(code));
      continue;
    }
    const name = tags.site;
    if (name === undefined) continue;
    const recipe = recipes.get(name) ?? { args: [], config: '' };
    if (language === 'json') recipe.config = move(code);
    else {
      const words = shellWords(move(code).trim());
      if (words[0] !== 'tsgi') throw new Error(`the ${name} command line in ${page} does not start with tsgi`);
      recipe.args = words.slice(1);
    }
    recipes.set(name, recipe);
  }
  return { recipes, files };
}
