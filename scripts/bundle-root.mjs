// Rewrites dist/src/index.js, the package root, as one file holding everything it loads at
// once: the response engine, the CGI front end, the form module and the small helpers.
// Node 20's ESM loader pays ~0.5 ms per module file, and a CGI script pays its imports on
// every request (measured by `npm run bench -- imports`).
//
// One copy of each class must stay one copy (an HttpError thrown by an app must be the
// HttpError the engine tests for, whichever path imported it), so the file of each module
// inlined here becomes a stub that re-exports its names from the root. A module with names
// the root does not export cannot be a stub; it may only be left whole when it keeps no state
// and no class of its own (DUPLICATE_OK), or when nothing outside the root imports it.
//
// Run after tsc (`npm run build`).
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const src = fileURLToPath(new URL('../dist/src/', import.meta.url));
const root = path.join(src, 'index.js');

/** Left whole beside its inlined copy: functions only, its one piece of state on globalThis. */
const DUPLICATE_OK = new Set([path.join(src, 'debug', 'guard.js')]);

/** `to` as an import specifier from a file in `fromDir`. */
function specifier(fromDir, to) {
  const relative = path.relative(fromDir, to).split(path.sep).join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
}

// A dynamic import is a module loaded later, on purpose: never inlined.
const keepDynamicOutside = {
  name: 'keep-dynamic-outside',
  setup(builder) {
    builder.onResolve({ filter: /^\./ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      return { path: specifier(src, path.resolve(args.resolveDir, args.path)), external: true };
    });
  },
};

const result = await build({
  entryPoints: [root],
  outfile: root,
  allowOverwrite: true,
  bundle: true,
  packages: 'external',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Not keepNames: it wraps every function expression in a defineProperty call, also the two
  // the response engine makes per request (~0.3 µs each). Names survive without it unless
  // esbuild renames a clash, which the check below refuses for functions and classes.
  metafile: true,
  write: false,
  logLevel: 'warning',
  plugins: [keepDynamicOutside],
});
const members = Object.keys(result.metafile.inputs)
  .map((file) => path.resolve(file))
  .filter((file) => file !== root);

// Which member files something outside the bundle imports (tsc's output spells every import `from './x.js'` or `import('./x.js')`).
const importedFromOutside = new Set();
const memberSet = new Set(members);
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
  const full = path.join(dir, entry.name);
  return entry.isDirectory() ? walk(full) : entry.name.endsWith('.js') ? [full] : [];
});
for (const file of walk(src)) {
  if (file === root || memberSet.has(file)) continue;
  for (const match of readFileSync(file, 'utf8').matchAll(/(?:from |import\()['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = path.resolve(path.dirname(file), match[1]);
    if (memberSet.has(target)) importedFromOutside.add(target);
  }
}

const rootNames = new Set(Object.keys(await import(pathToFileURL(root).href)));
const stubs = [];
for (const file of members) {
  const names = Object.keys(await import(pathToFileURL(file).href));
  const missing = names.filter((name) => !rootNames.has(name));
  if (missing.length === 0) {
    stubs.push([file, names]);
    continue;
  }
  if (DUPLICATE_OK.has(file) || !importedFromOutside.has(file)) continue;
  throw new Error(`bundle-root: ${specifier(src, file)} is inlined in the root and imported from outside it, but the root does not export ${missing.join(', ')}: export them from the root, load the module on first use, or (no state, no classes) list it in DUPLICATE_OK`);
}

// A top-level function or class esbuild renamed to avoid a clash (parse -> parse2) would carry
// the new name into stack traces, cgitb reports and util.inspect: rename one of the pair instead.
const bundled = result.outputFiles.find((output) => output.path === root).text;
const renamed = [];
for (const file of members) {
  for (const match of readFileSync(file, 'utf8').matchAll(/^(?:export )?(?:async )?(?:function\*? |class )([\w$]+)/gm)) {
    const name = match[1];
    // esbuild renames by appending a number; a function left out as unused is simply absent.
    const escaped = name.replace(/\$/g, '\\$');
    if (new RegExp(`(?:function\\*? ${escaped}\\d+\\(|class ${escaped}\\d+\\b|var ${escaped}\\d+ = class\\b)`).test(bundled)) renamed.push(`${name} (${specifier(src, file)})`);
  }
}
if (renamed.length > 0) throw new Error(`bundle-root: esbuild renamed ${renamed.join(', ')} to avoid a clash in the root's one file: rename one of each pair`);

for (const output of result.outputFiles) writeFileSync(output.path, output.contents);
for (const [file, names] of stubs) {
  const from = specifier(path.dirname(file), root);
  writeFileSync(file, `// Inlined in the package root (scripts/bundle-root.mjs): one copy of each class for every importer.\nexport { ${names.join(', ')} } from '${from}';\n`);
  rmSync(`${file}.map`, { force: true });
}
