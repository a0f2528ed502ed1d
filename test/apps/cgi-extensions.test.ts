import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cgiExtensions } from '../../src/apps/cgi-host.js';
import type { CgiHostApplication } from '../../src/apps/cgi-host.js';
import { staticFiles } from '../../src/apps/static.js';
import { call, header } from '../helpers/cgihost-fixtures.js';

const ECHO = '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n%s|%s|%s" "$SCRIPT_NAME" "$PATH_INFO" "$(basename "$SCRIPT_FILENAME")"\n';
const PYTHON = 'import os\nprint("Content-Type: text/plain\\n")\nprint("py", os.environ["SCRIPT_NAME"], os.environ["PATH_INFO"], end="")\n';

describe('cgiExtensions', () => {
  let root: string;
  let outside: string;
  let app: CgiHostApplication;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tsgi-ext-'));
    outside = mkdtempSync(join(tmpdir(), 'tsgi-ext-out-'));
    chmodSync(root, 0o755);
    const write = (name: string, text: string, mode = 0o644) => {
      writeFileSync(join(root, name), text);
      chmodSync(join(root, name), mode);
    };
    mkdirSync(join(root, 'tools'));
    mkdirSync(join(root, 'docs'));
    mkdirSync(join(root, 'both'));
    write('tools/run.cgi', ECHO, 0o755);
    write('tools/index.cgi', ECHO, 0o755);
    write('plain.cgi', ECHO, 0o644);
    write('hello.py', PYTHON, 0o644);
    write('UPPER.PY', PYTHON, 0o644);
    write('docs/readme.txt', 'just text\n');
    write('both/index.html', '<p>static index</p>\n');
    write('both/index.cgi', ECHO, 0o755);
    writeFileSync(join(outside, 'evil.cgi'), ECHO, { mode: 0o755 });
    symlinkSync(join(outside, 'evil.cgi'), join(root, 'evil.cgi'));
    app = cgiExtensions({ root, extensions: { '.cgi': null, '.py': '/usr/bin/python3' }, fallback: staticFiles({ root }), user: null });
  });
  after(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('runs an executable by extension anywhere below the folder, the rest of the path its PATH_INFO', async () => {
    const result = await call(app, { SCRIPT_NAME: '', PATH_INFO: '/tools/run.cgi/a/b' });
    assert.equal(result.status, 200, result.log.join('\n'));
    assert.equal(result.body.toString(), '/tools/run.cgi|/a/b|run.cgi');
  });

  it('runs a file that is not executable through its interpreter, in any letter case', async () => {
    const result = await call(app, { SCRIPT_NAME: '', PATH_INFO: '/hello.py/x' });
    assert.equal(result.body.toString(), 'py /hello.py /x', result.log.join('\n'));
    assert.equal((await call(app, { SCRIPT_NAME: '', PATH_INFO: '/UPPER.PY' })).body.toString(), 'py /UPPER.PY ');
  });

  it('answers a folder with its index script, and leaves a static index.html first', async () => {
    assert.equal((await call(app, { SCRIPT_NAME: '', PATH_INFO: '/tools/' })).body.toString(), '/tools/index.cgi||index.cgi');
    assert.match((await call(app, { SCRIPT_NAME: '', PATH_INFO: '/both/' })).body.toString(), /static index/);
  });

  it('leaves a folder named without its slash to the fallback, which redirects', async () => {
    const result = await call(app, { SCRIPT_NAME: '', PATH_INFO: '/tools' });
    assert.equal(result.status, 301);
    assert.match(header(result, 'location') ?? '', /\/tools\/$/);
  });

  it('serves other files through the fallback, and 404s for missing ones', async () => {
    assert.equal((await call(app, { SCRIPT_NAME: '', PATH_INFO: '/docs/readme.txt' })).body.toString(), 'just text\n');
    assert.equal((await call(app, { SCRIPT_NAME: '', PATH_INFO: '/nothing.cgi' })).status, 404);
  });

  it('refuses, never serves as text, a .cgi that is not executable', async () => {
    const result = await call(app, { SCRIPT_NAME: '', PATH_INFO: '/plain.cgi' });
    assert.equal(result.status, 403);
    assert.doesNotMatch(result.body.toString(), /#!\/bin\/sh/);
  });

  it('refuses a script reached through a symlink out of the folder', async () => {
    assert.equal((await call(app, { SCRIPT_NAME: '', PATH_INFO: '/evil.cgi' })).status, 403);
  });

  it('rejects extensions and interpreters it cannot use', () => {
    assert.throws(() => cgiExtensions({ root, extensions: { cgi: null } }), /looks like "\.cgi"/);
    assert.throws(() => cgiExtensions({ root, extensions: { '.py': 'python3' } }), /absolute path/);
    assert.throws(() => cgiExtensions({ root, extensions: {} }), /at least one/);
  });
});
