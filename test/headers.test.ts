import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Headers } from '../src/headers.js';
import type { HeaderList } from '../src/types.js';

describe('Headers', () => {
  it('looks names up case-insensitively and keeps order and duplicates', () => {
    const list: HeaderList = [['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['set-cookie', 'b=2']];
    const headers = new Headers(list);
    assert.equal(headers.get('content-type'), 'text/plain');
    assert.deepEqual(headers.getAll('SET-COOKIE'), ['a=1', 'b=2']);
    assert.equal(headers.get('missing', 'fallback'), 'fallback');
    assert.deepEqual(headers.keys(), ['Content-Type', 'Set-Cookie', 'set-cookie']);
  });

  it('set() replaces every value; delete() removes them; changes show in the list passed in', () => {
    const list: HeaderList = [['X-A', '1'], ['x-a', '2'], ['X-B', '3']];
    const headers = new Headers(list);
    headers.set('X-A', 'new');
    assert.deepEqual(list, [['X-B', '3'], ['X-A', 'new']]);
    assert.equal(headers.delete('x-b'), true);
    assert.equal(headers.delete('x-b'), false);
    assert.equal(headers.length, 1);
  });

  it('setDefault() adds only when absent and returns the value in effect', () => {
    const headers = new Headers([['Content-Type', 'text/html']]);
    assert.equal(headers.setDefault('content-type', 'text/plain'), 'text/html');
    assert.equal(headers.setDefault('X-New', 'v'), 'v');
    assert.equal(headers.get('x-new'), 'v');
  });

  it('add() writes parameters, quoting where needed', () => {
    const headers = new Headers();
    headers.add('Content-Disposition', 'attachment', { filename: 'a b.txt', size: '10', inline_flag: true });
    assert.equal(headers.get('Content-Disposition'), 'attachment; filename="a b.txt"; size=10; inline-flag');
    headers.add('X-Quote', undefined, { name: 'say "hi"' });
    assert.equal(headers.get('X-Quote'), 'name="say \\"hi\\""');
  });

  it('refuses CR, LF and other controls', () => {
    assert.throws(() => new Headers([['X', 'a\r\nb']]), /control character/);
    const headers = new Headers();
    assert.throws(() => headers.set('X', 'a\nb'), /control character/);
    assert.throws(() => headers.add('X', 'v', { p: 'a\rb' }), /control character/);
    assert.throws(() => headers.set('X\n', 'v'), /control character/);
  });

  it('serialises to a CRLF header block', () => {
    const headers = new Headers([['A', '1'], ['B', 'é']]);
    assert.equal(headers.toString(), 'A: 1\r\nB: é\r\n\r\n');
    assert.deepEqual([...headers.toBytes()].slice(-5), [0xe9, 13, 10, 13, 10]);
  });
});
