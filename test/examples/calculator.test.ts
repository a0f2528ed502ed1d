import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculator, parseNumber } from '../../examples/calculator/app.js';
import { request, TestClient, type TestResponse } from '../../src/testing/index.js';
import { fetchRaw } from '../helpers/http-client.js';
import { startTsgi, type RunningTsgi } from '../helpers/examples-server.js';

function result(res: TestResponse): string | undefined {
  return /id="result">([^<]*)</.exec(res.text())?.[1];
}

describe('calculator: number parsing', () => {
  it('accepts decimal numbers and refuses everything else', () => {
    assert.equal(parseNumber('42'), 42);
    assert.equal(parseNumber('-7'), -7);
    assert.equal(parseNumber('2.5'), 2.5);
    assert.equal(parseNumber('.5'), 0.5);
    assert.equal(parseNumber('1e3'), 1000);
    for (const bad of ['', 'x', '0x10', '1,5', 'Infinity', 'NaN', '1e999', ' 1', '--1']) assert.equal(parseNumber(bad), undefined, bad);
  });
});

// In process, through the response engine and the validator: no socket is needed to test the app.
describe('calculator', () => {
  const client = new TestClient(calculator);

  it('does the four operations from the path', async () => {
    const cases: [string, string][] = [['/add/23/42', '65'], ['/subtract/23/42', '-19'], ['/multiply/3/5', '15'], ['/divide/22/11', '2'], ['/add/0.1/0.2', '0.3'], ['/divide/1/4', '0.25']];
    for (const [path, expected] of cases) {
      const res = await client.get(path);
      assert.equal(res.status, 200, path);
      assert.equal(result(res), expected, path);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    }
  });

  it('explains itself on the home page, with example links and a form', async () => {
    const res = await client.get('/');
    assert.equal(res.status, 200);
    for (const link of ['/add/23/42', '/subtract/23/42', '/multiply/3/5', '/divide/22/11']) assert.ok(res.text().includes(`href="${link}"`), link);
    assert.match(res.text(), /<form method="get" action="\/">/);
  });

  it("sends the form's query to the path form of the calculation", async () => {
    const res = await client.get('/', { query: { a: 6, op: 'multiply', b: 7 } });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/multiply/6/7');
  });

  it('answers 400 for division by zero and for non-numbers, with a helpful page', async () => {
    const zero = await client.get('/divide/6/0');
    assert.equal(zero.status, 400);
    assert.match(zero.text(), /<h1>Division by zero<\/h1>/);
    assert.match(zero.text(), /How to use the calculator/);
    const words = await client.get('/add/two/%3Cb%3E');
    assert.equal(words.status, 400);
    assert.match(words.text(), /<code>two<\/code> and <code>&lt;b&gt;<\/code> are not numbers/);
    assert.ok(!words.text().includes('<b>'), 'the path is escaped');
  });

  it('answers 404 for unknown operations and the wrong number of operands, 405 for POST', async () => {
    const unknown = await client.get('/power/2/8');
    assert.equal(unknown.status, 404);
    assert.match(unknown.text(), /There is no operation called <code>power<\/code>/);
    const short = await client.get('/add/1');
    assert.equal(short.status, 404);
    assert.match(short.text(), /takes exactly two numbers/);
    const post = await client.post('/add/1/2', { body: '' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });
});

describe('calculator mounted under a prefix', () => {
  it('builds its links and redirects from SCRIPT_NAME', async () => {
    const home = await request(calculator, { path: '/calc/', scriptName: '/calc' });
    assert.ok(home.text().includes('href="/calc/add/23/42"'));
    const redirect = await request(calculator, { path: '/calc/', scriptName: '/calc', query: { a: 1, op: 'add', b: 2 } });
    assert.equal(redirect.headers.get('location'), '/calc/add/1/2');
  });
});

describe('calculator served by `tsgi run` over HTTP', () => {
  let tsgi: RunningTsgi;
  before(async () => {
    tsgi = await startTsgi(['run', 'dist/examples/calculator/app.js', '--port', '0', '--no-access-log']);
  });
  after(() => tsgi.stop());

  it('answers as docs/examples.md says it does', async () => {
    const res = await fetchRaw(`http://127.0.0.1:${tsgi.port}/add/23/42`);
    assert.equal(res.status, 200);
    assert.match(res.text, /id="result">65</);
  });
});
