import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldStorage } from '../../src/form/index.js';
import { multipartBody, request } from '../../src/testing/index.js';
import type { Application } from '../../src/types.js';

interface SeenPart {
  name: string | null;
  filename: string | null;
  type: string | null;
  value: string;
}

/** Reads the form with tsgi's own FieldStorage and answers with every part it found. */
const formEcho: Application = async (environ, start) => {
  const form = await FieldStorage.from(environ);
  try {
    const parts: SeenPart[] = (form.list ?? []).map((item) => ({
      name: item.name,
      filename: item.filename,
      type: item.type,
      value: item instanceof FieldStorage && item.filename !== null ? Buffer.from(item.value as Uint8Array).toString('base64') : String(item.value),
    }));
    start('200 OK', [['Content-Type', 'application/json']]);
    return [JSON.stringify({ contentType: environ.CONTENT_TYPE, parts })];
  } finally {
    form.close();
  }
};

describe('multipart/form-data from form and files', () => {
  it('is read back by FieldStorage: fields, then files with their names and types', async () => {
    const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
    const res = await request(formEcho, {
      path: '/upload',
      form: { title: 'Holiday', tags: ['sea', 'sün'] },
      files: { photo: { filename: 'beach.png', content: image, contentType: 'image/png' }, notes: { filename: 'notes.txt', content: 'line 1\r\nline 2\n' } },
    });
    const { contentType, parts } = res.json<{ contentType: string; parts: SeenPart[] }>();
    assert.match(contentType, /^multipart\/form-data; boundary=----tsgi-testing-[0-9a-f]{32}$/);
    assert.deepEqual(parts, [
      { name: 'title', filename: null, type: 'text/plain', value: 'Holiday' },
      { name: 'tags', filename: null, type: 'text/plain', value: 'sea' },
      { name: 'tags', filename: null, type: 'text/plain', value: 'sün' },
      { name: 'photo', filename: 'beach.png', type: 'image/png', value: image.toString('base64') },
      { name: 'notes', filename: 'notes.txt', type: 'application/octet-stream', value: Buffer.from('line 1\r\nline 2\n').toString('base64') },
    ]);
  });

  it('sends several files under one name, and files without fields', async () => {
    const res = await request(formEcho, { files: { docs: [{ filename: 'a.txt', content: 'A' }, { filename: 'b.txt', content: 'B' }] } });
    const { parts } = res.json<{ parts: SeenPart[] }>();
    assert.deepEqual(parts.map((part) => [part.name, part.filename]), [['docs', 'a.txt'], ['docs', 'b.txt']]);
  });

  it('keeps quotes and line breaks in names from ending the part header, as browsers do', async () => {
    const res = await request(formEcho, { form: { 'say "hi"': 'x' }, files: { f: { filename: 'evil"\r\nX-Injected: 1.txt', content: 'c' } } });
    const { parts } = res.json<{ parts: SeenPart[] }>();
    assert.equal(parts[0]!.name, 'say %22hi%22');
    assert.equal(parts[1]!.filename, 'evil%22%0D%0AX-Injected: 1.txt');
  });

  it('sends a non-ASCII file name as UTF-8, which FieldStorage decodes', async () => {
    const res = await request(formEcho, { files: { f: { filename: 'résumé.pdf', content: '%PDF' } } });
    assert.equal(res.json<{ parts: SeenPart[] }>().parts[0]!.filename, 'résumé.pdf');
  });

  it('picks a boundary that occurs in none of the content', () => {
    const { body, contentType } = multipartBody({ a: '1' }, { f: { filename: 'f', content: 'x' } }, 'fixed');
    assert.equal(contentType, 'multipart/form-data; boundary=fixed');
    assert.equal(body.toString(), '--fixed\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
      + '--fixed\r\nContent-Disposition: form-data; name="f"; filename="f"\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n--fixed--\r\n');
    const generated = multipartBody({ a: '1' });
    const boundary = generated.contentType.split('boundary=')[1]!;
    assert.equal(generated.body.toString().split(boundary).length, 3, 'the boundary opens the part and closes the body, nothing more');
  });
});
