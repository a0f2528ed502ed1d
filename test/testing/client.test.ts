import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldStorage } from '../../src/form/index.js';
import { CookieJar, TestClient } from '../../src/testing/index.js';
import type { Application } from '../../src/types.js';

/** Logs in with a form post (a session cookie), counts visits in a cookie under /counter, logs out. */
const sessions: Application = async (environ, start) => {
  const cookies = new Map((environ.HTTP_COOKIE ?? '').split('; ').filter(Boolean).map((pair) => pair.split('=') as [string, string]));
  const path = environ.PATH_INFO;
  const text = (status: string, body: string, headers: [string, string][] = []) => {
    start(status, [['Content-Type', 'text/plain'], ...headers]);
    return [body];
  };
  if (path === '/login' && environ.REQUEST_METHOD === 'POST') {
    const form = await FieldStorage.from(environ);
    const user = form.getFirst('user', '');
    form.close();
    return text('303 See Other', '', [['Location', '/'], ['Set-Cookie', `session=${user}; Path=/; HttpOnly`], ['Set-Cookie', 'flash=welcome; Path=/']]);
  }
  if (path === '/logout') return text('200 OK', 'bye', [['Set-Cookie', 'session=; Path=/; Max-Age=0']]);
  if (path === '/counter/hit') {
    const count = Number(cookies.get('count') ?? '0') + 1;
    return text('200 OK', String(count), [['Set-Cookie', `count=${count}`]]);
  }
  if (path === '/') {
    const flash = cookies.get('flash');
    return text('200 OK', cookies.has('session') ? `hello ${cookies.get('session')}${flash ? ` (${flash})` : ''}` : 'not logged in',
      flash ? [['Set-Cookie', 'flash=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/']] : []);
  }
  return text('200 OK', environ.HTTP_COOKIE ?? '');
};

describe('TestClient', () => {
  it('keeps cookies across requests: set, sent back, deleted', async () => {
    const client = new TestClient(sessions);
    assert.equal((await client.get('/')).text(), 'not logged in');
    const login = await client.post('/login', { form: { user: 'ada' } });
    assert.equal(login.status, 303);
    assert.equal(client.cookies!.get('session'), 'ada');
    assert.equal((await client.get('/')).text(), 'hello ada (welcome)');
    assert.equal((await client.get('/')).text(), 'hello ada', 'the flash cookie was deleted by its past Expires');
    await client.get('/logout');
    assert.equal(client.cookies!.get('session'), undefined);
    assert.equal((await client.get('/')).text(), 'not logged in');
  });

  it('scopes a cookie without Path to the folder it was set from', async () => {
    const client = new TestClient(sessions);
    assert.equal((await client.get('/counter/hit')).text(), '1');
    assert.equal((await client.get('/counter/hit')).text(), '2');
    assert.equal((await client.get('/elsewhere')).text(), '', 'the count cookie stays under /counter');
    assert.equal((await client.get('/counter/other')).text(), 'count=2');
  });

  it('joins its cookies with a Cookie header of the request, with "; "', async () => {
    const client = new TestClient(sessions);
    client.cookies!.set('jar', '1');
    assert.equal((await client.get('/echo', { headers: { Cookie: 'mine=2' } })).text(), 'mine=2; jar=1');
  });

  it('keeps no cookies when told not to, and shares a jar it is given', async () => {
    const forgetful = new TestClient(sessions, { cookies: false });
    await forgetful.post('/login', { form: { user: 'bob' } });
    assert.equal(forgetful.cookies, undefined);
    assert.equal((await forgetful.get('/')).text(), 'not logged in');
    const jar = new CookieJar();
    await new TestClient(sessions, { cookies: jar }).post('/login', { form: { user: 'cy' } });
    assert.equal((await new TestClient(sessions, { cookies: jar }).get('/')).text(), 'hello cy (welcome)');
  });

  const headersEcho: Application = (environ, start) => {
    start('200 OK', [['Content-Type', 'application/json']]);
    return [JSON.stringify({ method: environ.REQUEST_METHOD, auth: environ.HTTP_AUTHORIZATION ?? null, accept: environ.HTTP_ACCEPT ?? null, host: environ.HTTP_HOST, script: environ.SCRIPT_NAME, path: environ.PATH_INFO, user: environ.REMOTE_USER ?? null, tag: environ['app.tag'] ?? null })];
  };

  it('sends baseHeaders with every request; a request header of the same name replaces them', async () => {
    const client = new TestClient(headersEcho, { baseHeaders: { Authorization: 'Bearer base', Accept: 'text/html' } });
    assert.deepEqual((await client.get('/')).json<{ auth: string; accept: string }>(), { method: 'GET', auth: 'Bearer base', accept: 'text/html', host: 'localhost', script: '', path: '/', user: null, tag: null });
    const replaced = (await client.get('/', { headers: { authorization: 'Bearer mine' } })).json<{ auth: string; accept: string }>();
    assert.equal(replaced.auth, 'Bearer mine');
    assert.equal(replaced.accept, 'text/html');
  });

  it('applies its connection settings to every request, merging environ keys', async () => {
    const client = new TestClient(headersEcho, { baseUrl: 'https://shop.test', scriptName: '/shop', environ: { REMOTE_USER: 'ada' } });
    const res = (await client.put('/shop/cart', { environ: { 'app.tag': 'x' } })).json();
    assert.deepEqual(res, { method: 'PUT', auth: null, accept: null, host: 'shop.test', script: '/shop', path: '/cart', user: 'ada', tag: 'x' });
  });

  it('has a method for each of the common verbs, and request() for the rest', async () => {
    const client = new TestClient(headersEcho);
    const methods: string[] = [];
    for (const call of [client.get, client.head, client.post, client.put, client.patch, client.delete, client.options]) {
      const res = await call('/');
      methods.push(res.headers.get('content-length') === null ? '?' : res.environ!.REQUEST_METHOD);
    }
    assert.deepEqual(methods, ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
    assert.equal((await client.request({ method: 'PROPFIND', path: '/dav' })).json<{ method: string }>().method, 'PROPFIND');
    assert.equal((await client.request('/plain')).json<{ path: string }>().path, '/plain');
  });

  it('stores the cookies of a streamed response as soon as its head arrives', async () => {
    const client = new TestClient((_, start) => {
      start('200 OK', [['Content-Type', 'text/event-stream'], ['Set-Cookie', 'stream=1']]);
      return (async function* () {
        yield 'data: one\n\n';
        yield 'data: two\n\n';
      })();
    });
    const res = await client.get('/events', { stream: true });
    assert.equal(client.cookies!.get('stream'), '1');
    assert.equal(await res.text(), 'data: one\n\ndata: two\n\n');
  });
});
