/**
 * Scenario 4: under load through nginx, one of the two FastCGI workers is killed with SIGKILL
 * every second (always the oldest, so each replacement gets to serve). nginx's clients must see
 * no wrong answer: every 200 carries its own body, and the only errors are 502s of requests in
 * flight at a kill. Each kill may cost at most the requests in flight at that moment (all of
 * them, on both workers: the client cannot tell which worker a failed request was on).
 * Half the requests are POSTs, which nginx does not retry on the other worker, and the app
 * answers after 2 ms, so that a kill finds requests in flight.
 */
import { Agent, request } from 'node:http';
import { Scope } from './processes.js';
import type { Report } from './report.js';
import { serverModule, startFastcgiWorkers, workersOf, type Target } from './targets.js';

export interface KillScale {
  seconds: number;
  connections: number;
}

export const FULL: KillScale = { seconds: 30, connections: 32 };
export const SHORT: KillScale = { seconds: 4, connections: 16 };

/** A request that started this soon after a kill may still have gone to the dying worker. */
const GRACE_MS = 50;

interface Outcome {
  method: string;
  started: number;
  ended: number;
  /** 200 with the right body, 502, or what went wrong. */
  result: 'ok' | '502' | string;
}

function call(agent: Agent, url: string, id: number): Promise<Outcome> {
  const started = Date.now();
  const method = id % 2 === 0 ? 'GET' : 'POST';
  return new Promise((resolve) => {
    const done = (result: string) => resolve({ method, started, ended: Date.now(), result });
    request(`${url}/n/${id}?wait=2`, { agent, method }, (res) => {
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

async function underKills(report: Report, target: Target, scale: KillScale): Promise<void> {
  report.section(`${target.name}: ${scale.connections} keep-alive clients for ${scale.seconds} s, the oldest worker SIGKILLed every second`);
  const agent = new Agent({ keepAlive: true, maxSockets: scale.connections });
  const outcomes: Outcome[] = [];
  /** Each kill: when, and how many requests were in flight then. */
  const kills: { at: number; inFlight: number }[] = [];
  let inFlight = 0;
  let next = 0;
  let running = true;
  const loop = async () => {
    while (running) {
      inFlight++;
      const outcome = await call(agent, target.url, next++);
      inFlight--;
      outcomes.push(outcome);
    }
  };
  const loops = Array.from({ length: scale.connections }, loop);
  const killer = setInterval(() => {
    const oldest = workersOf(target.pid).sort((a, b) => a.startTicks - b.startTicks || a.pid - b.pid)[0];
    if (!oldest) return;
    try {
      process.kill(oldest.pid, 'SIGKILL');
      kills.push({ at: Date.now(), inFlight });
    } catch {
      // exited meanwhile
    }
  }, 1000);
  await new Promise((resolve) => setTimeout(resolve, scale.seconds * 1000));
  clearInterval(killer);
  running = false;
  await Promise.all(loops);
  agent.destroy();

  // The supervisor must be back to two workers, serving.
  for (let waited = 0; workersOf(target.pid).length < 2 && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  const after = await call(new Agent(), target.url, 1);

  const ok = outcomes.filter((outcome) => outcome.result === 'ok').length;
  const failed = outcomes.filter((outcome) => outcome.result === '502');
  const wrong = outcomes.filter((outcome) => outcome.result !== 'ok' && outcome.result !== '502');
  const unexplained = failed.filter((outcome) => !kills.some((kill) => outcome.started <= kill.at + GRACE_MS && outcome.ended >= kill.at));
  const inFlightAtKills = kills.reduce((sum, kill) => sum + kill.inFlight, 0);
  // Each 502 counts against the first kill it was in flight at: no kill may cost more than it found in flight.
  const lossPerKill = kills.map(() => 0);
  for (const outcome of failed) {
    const index = kills.findIndex((kill) => outcome.started <= kill.at + GRACE_MS && outcome.ended >= kill.at);
    if (index >= 0) lossPerKill[index]!++;
  }
  const overspent = kills.filter((kill, i) => lossPerKill[i]! > kill.inFlight).length;
  report.figure('workers killed', kills.length);
  report.figure('requests ok / failed (502)', `${ok} / ${failed.length} (failed: ${failed.filter((outcome) => outcome.method === 'GET').length} GET, ${failed.filter((outcome) => outcome.method === 'POST').length} POST)`);
  report.figure('requests in flight at the kills (sum)', inFlightAtKills);
  report.figure('most lost at one kill', `${Math.max(0, ...lossPerKill)} (in flight then: ${kills[lossPerKill.indexOf(Math.max(...lossPerKill))]?.inFlight ?? 0})`);
  report.figure('wrong answers', wrong.length);
  report.check(wrong.length === 0, `no wrong answer: every 200 has its body, every error is a 502 (${[...new Set(wrong.map((outcome) => outcome.result))].slice(0, 3).join('; ') || 'none'})`);
  report.check(unexplained.length === 0, `every 502 was in flight at a kill (${unexplained.length} were not)`);
  report.check(overspent === 0, `no kill cost more requests than were in flight at it (${overspent} did; ${failed.length} lost in all, ${inFlightAtKills} in flight at the kills)`);
  report.check(kills.length >= scale.seconds - 1, `a worker was killed every second (${kills.length} kills)`);
  report.check(workersOf(target.pid).length === 2 && after.result === 'ok', `two workers serve again afterwards (${workersOf(target.pid).length}, ${after.result})`);
}

export async function workerKills(report: Report, scale: KillScale = FULL): Promise<void> {
  const scope = new Scope();
  try {
    await underKills(report, await startFastcgiWorkers(scope, serverModule('hello')), scale);
  } finally {
    await scope.close();
  }
}
