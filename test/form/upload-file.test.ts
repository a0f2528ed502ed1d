import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FieldStorage } from '../../src/form/index.js';
import { TempStore, UploadFile } from '../../src/form/upload-file.js';
import { assemble, part } from '../helpers/form-corpus.js';
import { fromRoot } from '../helpers/paths.js';

const B = 'zzBOUNDARYzz';
const dir = mkdtempSync(join(tmpdir(), 'tsgi-upload-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function multipartEnviron(body: Buffer): Record<string, string> {
  return { REQUEST_METHOD: 'POST', CONTENT_TYPE: `multipart/form-data; boundary=${B}`, CONTENT_LENGTH: String(body.length) };
}

const openFds = (): number => readdirSync('/proc/self/fd').length;
/** The temporary files in `dir` (other tests leave folders of their own there). */
const tempFiles = (): string[] => readdirSync(dir).filter((name) => name.startsWith('tsgi-upload-'));

describe('UploadFile: spilled data has no name', () => {
  it('leaves nothing in tempDir while a form with spilled parts is open', () => {
    const files = Array.from({ length: 10 }, (_, i) => part(`f${i}`, Buffer.alloc(5000, 0x61 + i), `f${i}.bin`));
    const body = assemble(B, files);
    const before = openFds();
    const form = new FieldStorage({ environ: multipartEnviron(body), input: body, memoryThreshold: 100, tempDir: dir });
    try {
      assert.deepEqual(tempFiles(), []);
      // Ten spilled parts, one descriptor: they share one unlinked file.
      assert.equal(openFds() - before, 1);
      for (let i = 0; i < 10; i++) assert.deepEqual((form.get(`f${i}`) as FieldStorage).value, Buffer.alloc(5000, 0x61 + i));
    } finally {
      form.close();
    }
    assert.equal(openFds(), before);
  });

  it('leaves nothing behind when the process holding an open form is killed with SIGKILL', async () => {
    const killed = mkdtempSync(join(dir, 'killed-'));
    const module = fromRoot('dist', 'src', 'form', 'index.js');
    const script = `
      import { FieldStorage } from ${JSON.stringify(module)};
      const B = '${B}';
      const body = Buffer.from('--' + B + '\\r\\nContent-Disposition: form-data; name="f"; filename="f.bin"\\r\\n\\r\\n' + 'x'.repeat(200000) + '\\r\\n--' + B + '--\\r\\n');
      const form = new FieldStorage({ environ: { REQUEST_METHOD: 'POST', CONTENT_TYPE: 'multipart/form-data; boundary=' + B, CONTENT_LENGTH: String(body.length) }, input: body, memoryThreshold: 1000, tempDir: ${JSON.stringify(killed)} });
      process.stdout.write('parsed ' + form.getFirst('f').length + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const output = await new Promise<string>((resolve) => {
      let text = '';
      child.stdout!.on('data', (data: Buffer) => {
        text += data.toString();
        if (text.includes('\n')) resolve(text);
      });
      child.once('exit', () => resolve(text));
    });
    assert.match(output, /^parsed 200000\n/);
    child.kill('SIGKILL');
    await exited;
    assert.deepEqual(readdirSync(killed), []);
  });
});

describe('UploadFile: path, when asked for', () => {
  it('hands out a named file with the part, which may be hard-linked, and which close() removes', () => {
    const body = assemble(B, [part('a', Buffer.alloc(3000, 0x61), 'a.bin'), part('b', Buffer.alloc(4000, 0x62), 'b.bin')]);
    const form = new FieldStorage({ environ: multipartEnviron(body), input: body, memoryThreshold: 100, tempDir: dir });
    const kept = join(dir, 'kept-b');
    try {
      const b = (form.get('b') as FieldStorage).file!;
      const path = b.path!;
      assert.match(path, /\/tsgi-upload-\d+-\d+-[a-z0-9]+$/);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(readFileSync(path), Buffer.alloc(4000, 0x62));
      assert.equal(b.path, path, 'asked twice, one file');
      linkSync(path, kept);
      // The other part stays nameless and intact; reading goes on from the named file.
      assert.deepEqual(tempFiles(), [path.slice(dir.length + 1)]);
      assert.deepEqual((form.get('a') as FieldStorage).value, Buffer.alloc(3000, 0x61));
      b.seek(3998);
      assert.equal(b.read().toString(), 'bb');
      form.close();
      assert.equal(existsSync(path), false);
      assert.deepEqual(readFileSync(kept), Buffer.alloc(4000, 0x62));
    } finally {
      form.close();
      rmSync(kept, { force: true });
    }
  });

  it('keeps each file whole when files that share a store are written in turns', async () => {
    const store = new TempStore(dir);
    const first = new UploadFile({ memoryThreshold: 10 }, store);
    const second = new UploadFile({ memoryThreshold: 10 }, store);
    try {
      first.write(Buffer.from('first-part-one;'));
      second.write(Buffer.from('second-part-one;'));
      first.write(Buffer.from('first-part-two'));
      second.write(Buffer.from('second-part-two'));
      first.finish();
      second.finish();
      assert.equal(first.bytes().toString(), 'first-part-one;first-part-two');
      assert.equal(second.bytes().toString(), 'second-part-one;second-part-two');
      let streamed = '';
      for await (const chunk of first.stream()) streamed += (chunk as Buffer).toString();
      assert.equal(streamed, 'first-part-one;first-part-two');
      assert.equal(readFileSync(second.path!, 'utf8'), 'second-part-one;second-part-two');
    } finally {
      first.close();
      second.close();
    }
    assert.deepEqual(tempFiles(), []);
  });

  it('lets a stream begun before close() read to its end', async () => {
    const body = assemble(B, [part('f', Buffer.alloc(300_000, 0x66), 'f.bin')]);
    const form = new FieldStorage({ environ: multipartEnviron(body), input: body, memoryThreshold: 100, tempDir: dir });
    const stream = (form.get('f') as FieldStorage).file!.stream();
    form.close();
    let length = 0;
    for await (const chunk of stream) length += (chunk as Buffer).length;
    assert.equal(length, 300_000);
  });
});
