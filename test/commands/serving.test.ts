import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fromRoot } from '../helpers/paths.js';

const cli = fromRoot('dist', 'src', 'cli.js');
const fixture = fromRoot('test', 'fixtures', 'fastcgi', 'app.mjs');

function tsgi(...args: string[]): { status: number | null; stderr: string } {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env, timeout: 10_000 });
  return { status: result.status, stderr: result.stderr };
}

describe('tsgi run --fastcgi/--scgi/--workers usage errors', () => {
  const cases: [string[], RegExp][] = [
    [['--fastcgi', 'nonsense'], /--fastcgi: cannot listen on "nonsense": expected HOST:PORT/],
    [['--scgi', '127.0.0.1:99999'], /--scgi: port 99999/],
    [['--fastcgi', '127.0.0.1:0', '--scgi', '127.0.0.1:0'], /choose one of --fastcgi and --scgi/],
    [['--workers', '0'], /--workers must be a whole number/],
  ];
  for (const [args, message] of cases) {
    it(`refuses ${args.join(' ')} with exit code 2`, () => {
      const result = tsgi('run', fixture, ...args);
      assert.equal(result.status, 2);
      assert.match(result.stderr, message);
    });
  }
});
