/** Which files tsgi compiles from TypeScript, and as which kind of module they run. */
import { extname } from 'node:path';

const EXTENSIONS = new Set(['.ts', '.mts', '.cts']);

/** True for a TypeScript module (.ts, .mts, .cts), in any letter case; a declaration file (.d.ts) holds no code to run. */
export function isTypeScript(file: string): boolean {
  const lower = file.toLowerCase();
  return EXTENSIONS.has(extname(lower)) && !/\.d\.[cm]?ts$/.test(lower);
}

/**
 * `.cts` is CommonJS, as tsc's NodeNext has it; `.ts` and `.mts` run as ES modules whatever
 * the package.json says, since TypeScript written with import/export is what they hold.
 */
export function moduleFormat(file: string): 'esm' | 'cjs' {
  return extname(file).toLowerCase() === '.cts' ? 'cjs' : 'esm';
}
