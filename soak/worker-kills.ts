/**
 * Scenario 4: under load through nginx, one of the two FastCGI workers is killed with SIGKILL
 * every second (the oldest that serves, so each replacement gets to serve too), whether or
 * not the other serves yet. nginx's clients must see no wrong answer: every 200 carries its
 * own body, and the only errors are 502s of requests in flight on the killed worker. Before
 * each kill the worker is stopped (SIGSTOP: it accepts nothing more) and the connections it
 * holds are counted from /proc: a kill may cost at most that many requests.
 *
 * The app answers after 20 ms, so that a kill finds requests on the worker (answered at once,
 * they would all be waiting in this process, the clients' side, whenever its killer runs).
 * On a busy machine a replacement can take more than a second to start, so some kills take
 * the last worker that serves: the supervisor holds the listening socket, and connections
 * wait in its backlog for the replacement rather than being refused (which nginx would
 * answer with a 502 for a request never in flight). Those kills are counted, and every fifth
 * second (the 2nd, 7th, ...) both workers are killed at once, so that the case is met on a
 * quick machine too.
 * When no worker serves at all, the oldest one starting is killed: it holds nothing.
 *
 * nginx opens a connection per request, its default (no fastcgi_keep_conn): with kept
 * connections, nginx also sends requests that start after a kill down idle connections to the
 * dead worker before it has seen them close, and loses those too.
 */
import { Agent, request } from 'node:http';
import { acceptedConnections, processEntry } from './procfs.js';
import { Scope } from './processes.js';
import type { Report } from './report.js';
import { listening, serverModule, startFastcgiWorkers, workersOf, type Target } from './targets.js';

export interface KillScale {
  seconds: number;
  connections: number;
}

export const FULL: KillScale = { seconds: 30, connections: 32 };
export const SHORT: KillScale = { seconds: 3, connections: 16 };

interface Outcome {
  method: string;
  started: number;
  ended: number;
  /** 'ok' (200 with the right body), '502', or what went wrong. */
  result: string;
}

interface Kill {
  /** When the worker was stopped, then found dead (its /proc entry gone or a zombie). */
  stopped: number;
  died: number;
  /** Connections the workers held when stopped: the requests they had in flight, at most. */
  held: number;
  /** Workers killed (2: both at once). */
  workers: number;
  /** No worker served afterwards. */
  last: boolean;
  /** It was still starting (no worker served). */
  starting: boolean;
}

function call(agent: Agent, url: string, id: number): Promise<Outcome> {
  const started = Date.now();
  // Half POSTs: nginx would retry an idempotent GET elsewhere where it could.
  const method = id % 2 === 0 ? 'GET' : 'POST';
  return new Promise((resolve) => {
    const done = (result: string) => resolve({ method, started, ended: Date.now(), result });
    request(`${url}/n/${id}?wait=20`, { agent, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('error', (error) => done(`response broke off: ${error.message}`));
      res.once('end', () => {
        if (res.statusCode === 200) done(body === `hello ${id}\n` ? 'ok' : `200 with a wrong body: ${JSON.stringify(body.slice(0, 40))}`);
        else done(res.statusCode === 502 ? '502' : `status ${res.statusCode}`);
      });
    }).once('error', (error) => done(`request failed: ${error.message}`)).end(method === 'POST' ? `body of ${id}` : undefined);
  });
}

const byAge = (a: { pid: number; startTicks: number }, b: { pid: number; startTicks: number }) => a.startTicks - b.startTicks || a.pid - b.pid;

/**
 * Stops the oldest serving worker at once (every serving one if `all`; the oldest live one if
 * none serves), counts its connections, kills it. Nothing slow may come first: this process
 * is also the clients', and while it reads /proc/net/tcp (tens of milliseconds) every request
 * in flight completes, so a kill would find none.
 */
async function killOldest(target: Target, all: boolean, kills: Kill[], idle: { seconds: number }): Promise<void> {
  const port = target.backendPort!;
  const serving = target.serving!().sort(byAge);
  const oldestLive = workersOf(target.pid).sort(byAge)[0];
  const victims = serving.length > 0 ? serving.slice(0, all ? serving.length : 1) : oldestLive ? [oldestLive] : [];
  if (victims.length === 0) {
    // Between a death and its replacement's fork (the supervisor's back-off): nothing to kill.
    idle.seconds++;
    return;
  }
  const stopped = Date.now();
  try {
    for (const victim of victims) process.kill(victim.pid, 'SIGSTOP');
    let held = 0;
    for (const victim of victims) held += acceptedConnections(victim.pid, port);
    for (const victim of victims) process.kill(victim.pid, 'SIGKILL');
    for (const victim of victims) {
      for (let entry = processEntry(victim.pid); entry && entry.state !== 'Z'; entry = processEntry(victim.pid)) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    kills.push({ stopped, died: Date.now(), held, workers: victims.length, last: victims.length >= serving.length, starting: serving.length === 0 });
  } catch {
    // exited meanwhile
  }
}

async function underKills(report: Report, target: Target, scale: KillScale): Promise<void> {
  report.section(`${target.name}: ${scale.connections} clients for ${scale.seconds} s, the oldest worker SIGKILLed every second, both at once every fifth`);
  const agent = new Agent({ keepAlive: true, maxSockets: scale.connections });
  const outcomes: Outcome[] = [];
  const kills: Kill[] = [];
  let next = 0;
  let running = true;
  const loop = async () => {
    while (running) outcomes.push(await call(agent, target.url, next++));
  };
  const loops = Array.from({ length: scale.connections }, loop);
  const idle = { seconds: 0 };
  let second = 0;
  const killer = setInterval(() => void killOldest(target, ++second % 5 === 2, kills, idle), 1000);
  await new Promise((resolve) => setTimeout(resolve, scale.seconds * 1000));
  clearInterval(killer);
  running = false;
  await Promise.all(loops);
  agent.destroy();

  // The supervisor must be back to two workers, serving.
  const recovered = await listening(target.serving!, 2, 30_000);
  const after = await call(new Agent(), target.url, 0);

  const ok = outcomes.filter((outcome) => outcome.result === 'ok').length;
  const failed = outcomes.filter((outcome) => outcome.result === '502');
  const wrong = outcomes.filter((outcome) => outcome.result !== 'ok' && outcome.result !== '502');
  // Each 502 counts against the first kill it was in flight at (started before the worker died, ended after it was stopped).
  const lost = kills.map(() => 0);
  let unexplained = 0;
  for (const outcome of failed) {
    const index = kills.findIndex((kill) => outcome.started <= kill.died && outcome.ended >= kill.stopped);
    if (index >= 0) lost[index]!++;
    else unexplained++;
  }
  const overspent = kills.filter((kill, i) => lost[i]! > kill.held).length;
  const held = kills.reduce((sum, kill) => sum + kill.held, 0);
  const worst = lost.indexOf(Math.max(0, ...lost));
  const last = kills.filter((kill) => kill.last && !kill.starting).length;
  const both = kills.filter((kill) => kill.workers > 1).length;
  const starting = kills.filter((kill) => kill.starting).length;
  report.figure('kills', `${kills.length} (${kills.reduce((sum, kill) => sum + kill.workers, 0)} workers): ${last} left no worker serving (${both} of them both at once), ${starting} hit a worker still starting${idle.seconds > 0 ? `; ${idle.seconds} seconds with no worker alive to kill` : ''}`);
  report.figure('requests ok / failed (502)', `${ok} / ${failed.length} (failed: ${failed.filter((outcome) => outcome.method === 'GET').length} GET, ${failed.filter((outcome) => outcome.method === 'POST').length} POST)`);
  report.figure('connections the killed workers held (sum)', held);
  report.figure('most lost at one kill', worst < 0 ? 0 : `${lost[worst]} (the killed held ${kills[worst]!.held})`);
  report.figure('wrong answers', wrong.length);
  report.check(wrong.length === 0, `no wrong answer: every 200 has its body, every error is a 502 (${[...new Set(wrong.map((outcome) => outcome.result))].slice(0, 3).join('; ') || 'none'})`);
  report.check(unexplained === 0, `every 502 was in flight when a worker was killed (${unexplained} were not)`);
  report.check(overspent === 0, `no kill cost more requests than the worker held connections (${overspent} did)`);
  report.check(kills.length > 0 && kills.length + idle.seconds >= scale.seconds - 1, `a worker was killed every second a worker was alive (${kills.length} kills in ${scale.seconds} s, ${idle.seconds} with none alive)`);
  report.check(scale.seconds < 3 || both > 0, `both workers were killed at once ${both} times`);
  report.check(recovered && after.result === 'ok', `two workers serve again afterwards (${target.serving!().length} serving of ${workersOf(target.pid).length}; ${after.result})`);
}

export async function workerKills(report: Report, scale: KillScale = FULL): Promise<void> {
  const scope = new Scope();
  try {
    await underKills(report, await startFastcgiWorkers(scope, serverModule('hello'), { keepAlive: false }), scale);
  } finally {
    await scope.close();
  }
}
