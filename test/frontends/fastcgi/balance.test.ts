/**
 * nginx balancing one upstream pool of three tsgi FastCGI backends; one is SIGKILLed
 * under load. What is asserted: every request a client sent gets a 200 whose body names
 * that request (none lost, none answered with another's response). This holds because
 * the requests are GETs, which nginx retries on another backend when the connection
 * fails (`fastcgi_next_upstream error timeout`, its default), and tsgi sends each
 * response with its END_REQUEST in one write, so nginx never has half a response it
 * cannot retry. A POST sent to the dying backend could fail unless `non_idempotent` is
 * added; that is nginx's rule, not tested here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpCall } from '../../helpers/fastcgi-http.js';
import { freePort, startNginx, startTsgi, type Peer, type TsgiProcess } from '../../helpers/fastcgi-peers.js';
import { fromRoot } from '../../helpers/paths.js';

const cli = fromRoot('dist', 'src', 'cli.js');
const fixture = fromRoot('test', 'fixtures', 'fastcgi', 'app.mjs');

describe('nginx upstream pool of tsgi FastCGI backends, one killed under load', { timeout: 60_000 }, () => {
  const backends: TsgiProcess[] = [];
  let victimPort = 0;
  let nginx: Peer;

  before(async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    victimPort = ports[1]!;
    for (const port of ports) backends.push(await startTsgi(['run', fixture, '--fastcgi', `127.0.0.1:${port}`], port, cli));
    nginx = await startNginx(`
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_NAME "";
      fastcgi_param PATH_INFO $uri;
      fastcgi_keep_conn on;
      fastcgi_next_upstream error timeout;
      fastcgi_pass pool;
    }`, `
  upstream pool {
    ${ports.map((port) => `server 127.0.0.1:${port} max_fails=1 fail_timeout=30s;`).join('\n    ')}
    keepalive 16;
  }`);
  });

  after(async () => {
    await nginx?.stop();
    await Promise.all(backends.map((backend) => backend.stop()));
  });

  it('answers every request, each with its own response', async () => {
    const total = 900;
    const concurrency = 12;
    const victim = backends[1]!;
    const victimPid = String(victim.child.pid);
    const answers: { n: number; status: number; body: string }[] = [];
    let next = 0;
    let killedAt = -1;
    const client = async () => {
      while (next < total) {
        const n = next++;
        if (n === total / 3 && killedAt < 0) {
          killedAt = n;
          process.kill(-victim.child.pid!, 'SIGKILL');
        }
        const reply = await httpCall(nginx.port, `/pid?ms=3&n=${n}`);
        answers.push({ n, status: reply.status, body: reply.body.toString() });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, client));
    assert.equal(await victim.exited, 'SIGKILL');
    assert.equal(answers.length, total);
    const wrong = answers.filter((a) => a.status !== 200 || !a.body.endsWith(` ms=3&n=${a.n}\n`));
    assert.deepEqual(wrong, [], nginx.errorLog());
    // nginx saw the victim fail (a reset while reading, or a refused connect) and retried elsewhere.
    assert.match(nginx.errorLog(), new RegExp(`(failed|prematurely).*upstream: "fastcgi://127\\.0\\.0\\.1:${victimPort}"`));
    const servedBy = (a: { body: string }) => a.body.split(' ')[0];
    // The victim was carrying load before it died, and none after nginx noticed.
    assert.ok(answers.some((a) => a.n < killedAt && servedBy(a) === victimPid));
    assert.ok(answers.filter((a) => a.n > killedAt + concurrency * 2).every((a) => servedBy(a) !== victimPid));
  });
});
