import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adapt, commandLines, DocPage, shellWords } from '../helpers/doc-blocks.js';
import { startTsgi, type RunningTsgi } from '../helpers/examples-server.js';
import { startNginx, type Peer } from '../helpers/fastcgi-peers.js';
import { fetchRaw, type TestResponse } from '../helpers/http-client.js';

function result(res: TestResponse): string | undefined {
  return /id="result">([^<]*)</.exec(res.text)?.[1];
}

describe('calculator served by `tsgi run --fastcgi` behind nginx', () => {
  let tsgi: RunningTsgi;
  let nginx: Peer;
  before(async () => {
    // The command line and the nginx config docs/examples.md shows, on a free port.
    const page = new DocPage('docs/examples.md');
    const command = commandLines(page.take('sh', 'setup=calculator').code).find((line) => line.includes('--fastcgi'))!;
    const words = shellWords(adapt(command, [['127.0.0.1:9000', '127.0.0.1:0']]));
    assert.deepEqual(words.slice(0, 2), ['npx', 'tsgi']);
    tsgi = await startTsgi(words.slice(2), /Serving FastCGI on 127\.0\.0\.1:(\d+)/);
    nginx = await startNginx(adapt(page.take('nginx', 'setup=calculator').code, [['127.0.0.1:9000', `127.0.0.1:${tsgi.port}`]]));
  });
  after(async () => {
    await nginx?.stop();
    await tsgi?.stop();
  });

  it('calculates, links and redirects under its mount point', async () => {
    const base = `http://127.0.0.1:${nginx.port}/calc`;
    const sum = await fetchRaw(base + '/add/23/42');
    assert.equal(sum.status, 200);
    assert.equal(result(sum), '65');
    assert.equal(result(await fetchRaw(base + '/divide/22/11')), '2');
    const home = await fetchRaw(base + '/');
    assert.ok(home.text.includes('href="/calc/subtract/23/42"'));
    const redirect = await fetchRaw(base + '/?a=3&op=multiply&b=5');
    assert.equal(redirect.status, 303);
    assert.equal(redirect.headers.location, '/calc/multiply/3/5');
  });

  it('keeps its error statuses over FastCGI', async () => {
    const base = `http://127.0.0.1:${nginx.port}/calc`;
    assert.equal((await fetchRaw(base + '/divide/6/0')).status, 400);
    assert.equal((await fetchRaw(base + '/add/1/x')).status, 400);
    assert.equal((await fetchRaw(base + '/modulo/7/2')).status, 404);
  });
});

