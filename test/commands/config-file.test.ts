/** Site config files: the flags' settings as annotated JSON, every mistake pointed at by line and column. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../src/commands/args.js';
import { readConfigFile } from '../../src/commands/config-file.js';
import { fromRoot } from '../helpers/paths.js';

const options = {
  cgi: { type: 'boolean' },
  'cgi-timeout': { type: 'string' },
  'cgi-user': { type: 'string' },
  'cgi-script': { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  port: { type: 'string', short: 'p' },
  bind: { type: 'string' },
} as const;

let folder: string;
before(() => (folder = mkdtempSync(join(tmpdir(), 'tsgi-config-'))));
after(() => rmSync(folder, { recursive: true, force: true }));

/** Writes the lines, one per line, as a file in the temporary folder, so each test names its line numbers. */
function write(name: string, lines: string[]): string {
  const file = join(folder, name);
  writeFileSync(file, lines.join('\n'));
  return file;
}

/** Asserts that reading the lines fails with exactly `message` after the file's name. */
async function rejects(lines: string[], message: string, positionals: string[] = ['dir']): Promise<void> {
  const file = write('site.json', lines);
  await assert.rejects(readConfigFile(file, options, positionals), (error: unknown) => {
    assert.ok(error instanceof UsageError, `not a UsageError: ${String(error)}`);
    assert.equal(error.message, `${file}:${message}`);
    return true;
  });
}

describe('readConfigFile', () => {
  it('reads a file with comments and trailing commas into the values parseArgs would give', async () => {
    const file = write('good.json', [
      '// The git site, as deployed.',
      '{',
      '  "cgi": true, // scripts on',
      '  /* the old',
      '     port */',
      '  "port": "8080",',
      '  "cgi-script": ["/git=/usr/lib/git-core/git-http-backend",],',
      '  "env": ["GIT_PROJECT_ROOT=/srv/git", "GIT_HTTP_EXPORT_ALL=1"],',
      '  "dir": "public",',
      '}',
    ]);
    const config = await readConfigFile(file, options, ['dir']);
    assert.deepEqual(config.values, {
      cgi: true,
      port: '8080',
      'cgi-script': ['/git=/usr/lib/git-core/git-http-backend'],
      env: ['GIT_PROJECT_ROOT=/srv/git', 'GIT_HTTP_EXPORT_ALL=1'],
    });
    assert.equal(config.dir, 'public');
    assert.deepEqual(config.positionals, { dir: 'public' });
    assert.equal(config.baseDir, folder);
  });

  it('turns numbers into strings as they are written, and a single string into a list of one', async () => {
    const file = write('numbers.json', ['{"port": 8080, "cgi-timeout": 2.5, "env": "A=1", "cgi-script": ["/x=/bin/x", 7], "cgi": false}']);
    const { values, dir } = await readConfigFile(file, options);
    assert.deepEqual(values, { port: '8080', 'cgi-timeout': '2.5', env: ['A=1'], 'cgi-script': ['/x=/bin/x', '7'], cgi: false });
    assert.equal(dir, undefined);
  });

  it('gives baseDir as the absolute folder of the file, however the file was named', async () => {
    mkdirSync(join(folder, 'etc'), { recursive: true });
    writeFileSync(join(folder, 'etc', 'site.json'), '{}');
    const relative = join(folder, 'etc', '..', 'etc', 'site.json');
    const config = await readConfigFile(relative, options);
    assert.equal(config.baseDir, join(folder, 'etc'));
    assert.deepEqual(config.values, {});
  });

  it('names the file in its messages as it was given', async () => {
    const name = relative(process.cwd(), write('given.json', ['{', '  "cgi-timout": 5', '}']));
    await assert.rejects(readConfigFile(name, options), { message: `${name}:2:3: "cgi-timout" is not a setting (did you mean "cgi-timeout"?)` });
    const valid = relative(process.cwd(), write('valid.json', ['{}']));
    assert.equal((await readConfigFile(valid, options)).baseDir, folder);
  });

  it('names an unknown key where it is, with the nearest setting', async () => {
    await rejects(['{', '  "cgi": true,', '', '', '', '', '  "cgi-timout": "30"', '}'], '7:3: "cgi-timout" is not a setting (did you mean "cgi-timeout"?)');
    await rejects(['{"prot": 80}'], '1:2: "prot" is not a setting (did you mean "port"?)');
    await rejects(['{', '  "--bind": "0.0.0.0"', '}'], '2:3: "--bind" is not a setting (did you mean "bind"?)');
    await rejects(['{"p": 80}'], '1:2: "p" is not a setting (did you mean "port"?)');
    await rejects(['{"colour": "red"}'], '1:2: "colour" is not a setting');
    // "dir" is a key only where the command has the positional.
    await rejects(['{"dir": "x"}'], '1:2: "dir" is not a setting', []);
    // Keys that name things every object has are not settings either.
    await rejects(['{"toString": "x"}'], '1:2: "toString" is not a setting');
  });

  it('refuses "help", which only means something on the command line', async () => {
    await rejects(['{', '  "help": true', '}'], '2:3: "help" is not a setting: it is a flag for the command line only');
  });

  it('points at a value of the wrong type', async () => {
    await rejects(['{', '  "cgi": true,', '  "bind": "::",', '  "port": true', '}'], '4:11: "port" takes a string or a number, got true');
    await rejects(['{"cgi": "yes"}'], '1:9: "cgi" takes true or false, got "yes"');
    await rejects(['{"cgi": 1}'], '1:9: "cgi" takes true or false, got 1');
    await rejects(['{"port": null}'], '1:10: "port" takes a string or a number, got null');
    await rejects(['{"bind": ["a"]}'], '1:10: "bind" takes a string or a number, got a list');
    await rejects(['{"env": {"A": "1"}}'], '1:9: "env" takes a string or a list of strings, got an object');
    await rejects(['{"dir": 5}'], '1:9: "dir" takes a string, got 5');
    await rejects([`{"port": "${'8'.repeat(50)}", "cgi": 3}`], '1:71: "cgi" takes true or false, got 3');
    await rejects([`{"cgi": "${'y'.repeat(50)}"}`], `1:9: "cgi" takes true or false, got "${'y'.repeat(40)}"...`);
  });

  it('points at the item of a list that is not a string, counting items from 1', async () => {
    await rejects([
      '{',
      '  "cgi": true,',
      '  "env": [],',
      '  "bind": "::",',
      '  "port": 80,',
      '  "cgi-user": "git",',
      '  "cgi-timeout": 30,',
      '  // two backends',
      '  "cgi-script": ["/git=/usr/lib/git-core/git-http-backend",',
      '                 false]',
      '}',
    ], '10:18: "cgi-script" takes a list of strings, got false at item 2');
    await rejects(['{"env": ["A=1", ["B=2"]]}'], '1:17: "env" takes a list of strings, got a list at item 2');
  });

  it('gives the line of a syntax mistake, a missing comma just after the value before it', async () => {
    await rejects(['{', '  "cgi": true,', '  "port": "8080"  // the public one', '  "bind": "::"', '}'], '3:17: JSON syntax: expected a comma');
    await rejects(['{"port" 80}'], '1:8: JSON syntax: expected a colon');
    await rejects(['{', '  port: 80', '}'], '2:3: JSON syntax: unexpected "port" (keys and strings go in double quotes)');
    await rejects(['{', '  "port": "80', '}'], '2:11: JSON syntax: a string does not end with " on its line');
    await rejects(['{"port": 80'], '1:12: JSON syntax: expected }');
    await rejects(['{"env": ["a" "b"]}'], '1:13: JSON syntax: expected a comma');
    await rejects(['{"port": 80}', '}'], '2:1: JSON syntax: more text after the closing }');
    await rejects(['{"port": 80} /* the end'], '1:14: JSON syntax: a /* comment is not closed with */');
    await rejects(['{"port": }'], '1:10: JSON syntax: expected a value');
  });

  it('counts columns in characters, not bytes', async () => {
    await rejects(['{"bind": "é",  "colour": 1}'], '1:16: "colour" is not a setting');
  });

  it('refuses a top level that is not an object, and an empty file', async () => {
    await rejects(['// flags', '["--cgi"]'], '2:1: the settings must be a JSON object, like {"port": 8080}, got a list');
    await rejects(['"--cgi"'], '1:1: the settings must be a JSON object, like {"port": 8080}, got "--cgi"');
    const empty = write('empty.json', ['// nothing yet', '']);
    await assert.rejects(readConfigFile(empty, options), { message: `${empty}: the file is empty; it should hold a JSON object of settings, like {"port": 8080}` });
  });

  it('refuses a key given twice, naming the line of the first', async () => {
    await rejects(['{', '  "port": 80,', '  "cgi": true,', '  "port": 81', '}'], '4:3: "port" is given twice (first on line 2)');
  });

  it('names a file it cannot read, and says why', async () => {
    const missing = join(folder, 'nope.json');
    await assert.rejects(readConfigFile(missing, options), (error: unknown) => error instanceof UsageError && error.message === `${missing}: cannot read the config file: no such file`);
    await assert.rejects(readConfigFile(folder, options), { message: `${folder}: cannot read the config file: is a folder, not a file` });
  });

  it('reads a file saved with a byte-order mark', async () => {
    const file = join(folder, 'bom.json');
    writeFileSync(file, '\uFEFF{"port": 1,\n "colour": 2}');
    await assert.rejects(readConfigFile(file, options), { message: `${file}:2:2: "colour" is not a setting` });
    writeFileSync(file, '\uFEFF{"port": 1}');
    assert.deepEqual((await readConfigFile(file, options)).values, { port: '1' });
  });

  it('loads the JSON parser only when a file is read', () => {
    const module = fromRoot('dist', 'src', 'commands', 'config-file.js');
    const file = write('lazy.json', ['{"port": 1}']);
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('jsonc-parser'));
      const { readConfigFile } = await import(${JSON.stringify(module)});
      const before = loaded();
      await readConfigFile(${JSON.stringify(file)}, { port: { type: 'string' } });
      console.log(JSON.stringify([before, loaded()]));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), [false, true]);
  });

  it('refuses a spec it cannot fill: a boolean option with multiple: true', async () => {
    const file = write('verbose.json', ['{}']);
    await assert.rejects(readConfigFile(file, { verbose: { type: 'boolean', multiple: true } }), TypeError);
  });
});
