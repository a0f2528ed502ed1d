import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as root from '../src/index.js';
import { fromRoot } from './helpers/paths.js';

const packageJson = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { exports: Record<string, string> };
const subpaths = Object.entries(packageJson.exports).filter(([subpath]) => subpath !== '.');
const rootNames = root as unknown as Record<string, unknown>;

describe('the package root', () => {
  for (const [subpath, file] of subpaths) {
    it(`exports every public name of tsgi${subpath.slice(1)}`, async () => {
      const module = (await import(fromRoot(file))) as Record<string, unknown>;
      // tsgi/cgitb's names stay together, as in Python: cgitb.enable(), cgitb.html().
      const home = subpath === './cgitb' ? (root.cgitb as unknown as Record<string, unknown>) : rootNames;
      for (const [name, value] of Object.entries(module)) {
        assert.ok(name in home, `tsgi${subpath.slice(1)} exports ${name}, the root does not`);
        const fromRootValue = home[name];
        if (typeof value !== 'function') {
          assert.equal(fromRootValue, value, `${name} from the root is not the one from tsgi${subpath.slice(1)}`);
        } else {
          assert.equal(typeof fromRootValue, 'function', `${name} from the root is not a function`);
          assert.equal((fromRootValue as () => unknown).name, value.name);
        }
      }
    });
  }

  it('gives classes loaded on first use that instanceof, new and extends see as the real ones', async () => {
    const validate = await import('../src/validate.js');
    const listen = await import('../src/frontends/listen.js');
    assert.ok(new validate.ValidationError('x', 'app') instanceof root.ValidationError);
    assert.ok(new root.ValidationError('y', 'app') instanceof validate.ValidationError);
    class Mine extends root.ValidationError {}
    assert.ok(new Mine('z', 'app') instanceof validate.ValidationError);
    const server = await root.listenScgi('127.0.0.1:0', () => []);
    try {
      assert.ok(server instanceof root.GatewayServer);
      assert.ok(server instanceof listen.GatewayServer);
    } finally {
      await server.close();
    }
  });

  it('forwards calls, results and synchronous errors unchanged', async () => {
    const listen = await import('../src/frontends/listen.js');
    assert.equal(root.decodePath('/a%20b'), '/a b');
    assert.deepEqual(root.parseAddress('127.0.0.1:80'), listen.parseAddress('127.0.0.1:80'));
    assert.throws(() => root.parseAddress('nonsense'), (error: Error) => {
      assert.throws(() => listen.parseAddress('nonsense'), { message: error.message });
      return true;
    });
  });

  it('loads none of the servers, the CGI host or their Node modules until they are used', () => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const script = `
      const root = await import(${JSON.stringify(fromRoot('dist/src/index.js'))});
      const builtins = () => process.moduleLoadList.filter((m) => /^NativeModule (https?|net|tls|crypto|child_process|stream)$/.test(m));
      const before = builtins();
      await root.makeServer('127.0.0.1', 0, () => [], { accessLog: false }).then((s) => s.close());
      console.log(JSON.stringify({ before, after: builtins() }));
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
    assert.equal(result.status, 0, result.stderr);
    const { before, after } = JSON.parse(result.stdout) as { before: string[]; after: string[] };
    assert.deepEqual(before, []);
    assert.ok(after.includes('NativeModule http'), `makeServer from the root did not load node:http: ${after.join(', ')}`);
  });

  it('is one file: importing it loads no other file of the package, and the subpaths share its classes', async () => {
    // A CGI script pays for every file it loads, on every request (scripts/bundle-root.mjs).
    const logLoads = 'data:text/javascript,' + encodeURIComponent('export async function load(url, context, next) { if (url.startsWith("file:")) console.error("loaded " + url); return next(url, context); }');
    const register = `import { register } from 'node:module'; register(${JSON.stringify(logLoads)});`;
    const script = `import(${JSON.stringify(fromRoot('dist/src/index.js'))}).then((root) => root.runCgi);`;
    const result = spawnSync(process.execPath, ['--no-warnings', '--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const loaded = result.stderr.split('\n').filter((line) => line.startsWith('loaded ')).map((line) => line.slice('loaded '.length));
    assert.deepEqual(loaded, [pathToFileURL(fromRoot('dist/src/index.js')).href]);

    const handler = await import('../src/handler.js');
    const form = await import('../src/form/index.js');
    const cgi = await import('../src/frontends/cgi.js');
    const headers = await import('../src/headers.js');
    const records = await import('../src/frontends/fastcgi/records.js');
    assert.equal(handler.HttpError, root.HttpError);
    assert.equal(form.FieldStorage, root.FieldStorage);
    assert.equal(cgi.runCgi, root.runCgi);
    assert.equal(headers.Headers, root.Headers);
    assert.equal(records.RecordType, root.RecordType);
  });
});
