import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CookieJar } from '../../src/testing/index.js';
import { defaultPath, pathMatches } from '../../src/testing/cookie-jar.js';

describe('CookieJar', () => {
  it('sends name=value back, and replaces a cookie of the same name and path', () => {
    const jar = new CookieJar();
    jar.store('session=abc; HttpOnly; SameSite=Lax');
    jar.store('theme=dark');
    assert.equal(jar.header('/'), 'session=abc; theme=dark');
    jar.store('session=def');
    assert.equal(jar.header('/'), 'session=def; theme=dark', 'the replaced cookie keeps its place');
    assert.equal(jar.get('session'), 'def');
    assert.equal(jar.size, 2);
  });

  it('scopes a cookie to its Path, or to the folder of the request without one', () => {
    const jar = new CookieJar();
    jar.store('admin=1; Path=/admin');
    jar.store('list=2', '/shop/cart/items');
    assert.equal(jar.header('/'), undefined);
    assert.equal(jar.header('/admin'), 'admin=1');
    assert.equal(jar.header('/admin/users'), 'admin=1');
    assert.equal(jar.header('/administrator'), undefined, '/admin is not a prefix of /administrator by path');
    assert.equal(jar.header('/shop/cart'), 'list=2');
    assert.equal(jar.header('/shop'), undefined);
    assert.deepEqual(jar.all(), [{ name: 'admin', value: '1', path: '/admin' }, { name: 'list', value: '2', path: '/shop/cart' }]);
  });

  it('sends cookies with longer paths first', () => {
    const jar = new CookieJar();
    jar.store('a=root; Path=/');
    jar.store('b=deep; Path=/x/y');
    jar.store('c=mid; Path=/x');
    assert.equal(jar.header('/x/y/z'), 'b=deep; c=mid; a=root');
  });

  it('keeps same-named cookies of different paths apart', () => {
    const jar = new CookieJar();
    jar.store('id=outer; Path=/');
    jar.store('id=inner; Path=/app');
    assert.equal(jar.header('/app/page'), 'id=inner; id=outer');
    assert.equal(jar.get('id', '/app'), 'inner');
    jar.delete('id', '/app');
    assert.equal(jar.header('/app/page'), 'id=outer');
  });

  it('deletes a cookie on Max-Age=0 or a past Expires, and only the one of that path', () => {
    const jar = new CookieJar();
    jar.store('a=1');
    jar.store('b=2');
    jar.store('c=3; Path=/c');
    jar.store('a=; Max-Age=0');
    jar.store('b=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    jar.store('c=x; Max-Age=-1');
    assert.equal(jar.header('/c'), 'c=3');
    assert.equal(jar.get('a'), undefined);
  });

  it('lets cookies expire on its clock, Max-Age winning over Expires', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const jar = new CookieJar(() => now);
    jar.store('short=1; Max-Age=60; Expires=Fri, 01 Jan 2100 00:00:00 GMT');
    jar.store('dated=2; expires=Tue, 01 Jan 2030 00:10:00 GMT');
    jar.store('session=3');
    now += 61_000;
    assert.equal(jar.header('/'), 'dated=2; session=3');
    now += 10 * 60_000;
    assert.equal(jar.header('/'), 'session=3');
  });

  it('ignores Domain, lines without "=" and attributes it does not know', () => {
    const jar = new CookieJar();
    jar.store('a=1; Domain=elsewhere.example; Secure; Priority=High');
    jar.store('nonsense');
    jar.store('=novalue');
    jar.store('q="quoted value"; Path=relative');
    assert.equal(jar.header('/'), 'a=1; q="quoted value"');
  });

  it('can be filled and emptied by hand', () => {
    const jar = new CookieJar();
    jar.set('token', 't1', { path: '/api' });
    assert.equal(jar.header('/api/x'), 'token=t1');
    jar.set('old', 'x', { expires: new Date(0) });
    assert.equal(jar.get('old'), undefined);
    assert.equal(jar.delete('token'), true);
    assert.equal(jar.delete('token'), false);
    jar.set('a', '1');
    jar.clear();
    assert.equal(jar.size, 0);
  });

  it('finds default paths and path matches as RFC 6265 § 5.1.4 says', () => {
    assert.equal(defaultPath('/'), '/');
    assert.equal(defaultPath('/a'), '/');
    assert.equal(defaultPath('/a/b'), '/a');
    assert.equal(defaultPath('/a/b/'), '/a/b');
    assert.equal(defaultPath('*'), '/');
    assert.ok(pathMatches('/a/b', '/a/'));
    assert.ok(pathMatches('/a', '/a'));
    assert.ok(!pathMatches('/ab', '/a'));
    assert.ok(!pathMatches('/', '/a'));
  });
});
