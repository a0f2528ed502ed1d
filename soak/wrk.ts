/** wrk, run without blocking the event loop (the scenario's own clients keep going meanwhile). */
import { spawn } from 'node:child_process';
import { killOnExit } from './processes.js';

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  /** Non-2xx responses and socket errors, as wrk words them ("" when none). */
  problems: string;
}

export function wrk(url: string, seconds: number, connections: number): Promise<WrkResult> {
  const child = killOnExit(spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (data: Buffer) => (out += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (out += data.toString()));
  // wrk stops by itself after `seconds`; this only covers a wrk that hangs.
  const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => {
      clearTimeout(guard);
      const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const total = /(\d+) requests in/.exec(out);
      if (!rate || !total) return reject(new Error(`wrk gave no figure:\n${out}`));
      const problems = [...out.matchAll(/Non-2xx or 3xx responses: \d+|Socket errors: .*/g)].map((match) => match[0]).join('; ');
      resolve({ requestsPerSecond: Number(rate[1]), requests: Number(total[1]), problems });
    });
  });
}
