/**
 * The test client's environ against the HTTP front end's: the same request sent on a socket
 * and through request() must give the app the same CGI variables. (A socket is the point here.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeServer, type HttpServer } from '../../src/frontends/http.js';
import { request } from '../../src/testing/index.js';
import type { Application } from '../../src/types.js';
import { readBody } from '../../src/util.js';
import { rawExchange } from '../helpers/http-client.js';
import { collectingErrors } from '../helpers/recording-target.js';

const echo: Application = async (environ, start) => {
  const plain: Record<string, string> = {};
  for (const [key, value] of Object.entries(environ)) if (typeof value === 'string') plain[key] = value;
  plain['tsgi.url_scheme'] = environ['tsgi.url_scheme'];
  plain.body = (await readBody(environ)).toString('latin1');
  start('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify(plain)];
};

interface Case {
  name: string;
  method: string;
  target: string;
  protocol: string;
  headers: [string, string][];
  body?: string;
}

const cases: Case[] = [
  {
    name: 'an encoded path, a query and repeated headers',
    method: 'GET', target: '/caf%C3%A9/x%2Fy;p?q=1&r=%20', protocol: 'HTTP/1.1',
    headers: [['Host', 'localhost'], ['Accept', 'text/html'], ['Accept', '*/*'], ['Cookie', 'a=1'], ['Cookie', 'b=2'], ['X_Under', 'z'], ['Proxy', 'p'], ['User-Agent', 'test'], ['Connection', 'close']],
  },
  {
    name: 'a form post',
    method: 'POST', target: '/form', protocol: 'HTTP/1.1',
    headers: [['Host', 'example.test:8080'], ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', '7'], ['Connection', 'close']],
    body: 'a=1&b=2',
  },
  {
    name: 'HTTP/1.0 without a Host',
    method: 'GET', target: '/old', protocol: 'HTTP/1.0',
    headers: [['Accept-Language', 'fr, en;q=0.5']],
  },
];

describe('request() builds the environ the HTTP front end builds', () => {
  let server: HttpServer;
  before(async () => {
    server = await makeServer('127.0.0.1', 0, echo, { accessLog: false, errors: collectingErrors() });
  });
  after(() => server.close());

  for (const c of cases) {
    it(c.name, async () => {
      const wire = `${c.method} ${c.target} ${c.protocol}\r\n${c.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n${c.body ?? ''}`;
      const answer = await rawExchange(server.port, wire);
      const overSocket = JSON.parse(Buffer.from(answer.slice(answer.indexOf('\r\n\r\n') + 4), 'latin1').toString('utf8')) as Record<string, string>;
      const res = await request(echo, {
        method: c.method, path: c.target, protocol: c.protocol, headers: c.headers, body: c.body, baseUrl: server.url,
        // The test client sends a Host of its own unless told: this request has none.
        ...(c.headers.some(([n]) => n === 'Host') ? {} : { environ: { HTTP_HOST: undefined } }),
      });
      const inProcess = res.json<Record<string, string>>();
      delete overSocket.REMOTE_PORT;
      delete inProcess.REMOTE_PORT;
      assert.deepEqual(inProcess, overSocket);
    });
  }
});
