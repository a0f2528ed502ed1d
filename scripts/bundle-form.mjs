// Rewrites dist/src/form/index.js as one file holding the whole form module.
// Node 20's ESM loader costs ~0.5 ms per module file, and a CGI script pays its imports on
// every request: nine files took ~7.7 ms over `node -e 0`, one file ~2 ms (docs/form.md).
// The form module imports nothing from the rest of tsgi, and everything outside it imports
// it through index.js, so every importer still shares one copy of each class.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/src/form/index.js', import.meta.url));
await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  keepNames: true,
  logLevel: 'warning',
});
