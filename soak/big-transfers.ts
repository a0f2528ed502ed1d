/**
 * Scenario 5: a 1 GB upload and a 1 GB response at the same time, through nginx (buffering
 * off both ways, so the bytes stream through the workers rather than nginx's temp files) to
 * `tsgi run --fastcgi --workers 2`. VmRSS of the primary and of every worker, sampled from
 * /proc every 50 ms during the transfers, must stay under 100 MB. Which worker takes which
 * transfer is the kernel's choice: both on one worker is the harder case, and it happens.
 */
import { request } from 'node:http';
import { megabytes, MB, rssBytes } from './procfs.js';
import { Scope } from './processes.js';
import type { Report } from './report.js';
import { serverModule, startFastcgiWorkers, workersOf, type Target } from './targets.js';

export interface TransferScale {
  bytes: number;
}

export const FULL: TransferScale = { bytes: 1024 * MB };
export const SHORT: TransferScale = { bytes: 128 * MB };

const RSS_LIMIT = 100 * MB;
const BLOCK = Buffer.alloc(MB, 'upload ');

/** POSTs `bytes` and resolves with the count the app read, as it answers it. */
function upload(url: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/count`, { method: 'POST', headers: { 'Content-Length': String(bytes), 'Content-Type': 'application/octet-stream' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => (res.statusCode === 200 ? resolve(Number(body)) : reject(new Error(`upload answered ${res.statusCode}: ${body}`))));
    });
    req.once('error', reject);
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const block = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
        left -= block.length;
        if (!req.write(block)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** GETs a response of `bytes` and resolves with the bytes received. */
function download(url: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    request(`${url}/big?bytes=${bytes}`, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => (received += chunk.length));
      res.once('end', () => resolve(received));
      res.once('error', reject);
    }).once('error', reject).end();
  });
}

async function transfer(report: Report, target: Target, scale: TransferScale): Promise<void> {
  report.section(`${target.name}: a ${megabytes(scale.bytes)} upload and a ${megabytes(scale.bytes)} response at once`);
  const peaks = new Map<number, { role: string; rss: number }>();
  const sample = () => {
    const workers = new Set(workersOf(target.pid).map((entry) => entry.pid));
    for (const pid of target.pids()) {
      const role = pid === target.pid ? 'primary' : workers.has(pid) ? `worker ${pid}` : `process ${pid}`;
      const known = peaks.get(pid);
      peaks.set(pid, { role, rss: Math.max(known?.rss ?? 0, rssBytes(pid)) });
    }
    const nginx = target.nginx!.child.pid!;
    peaks.set(-1, { role: 'nginx (master)', rss: Math.max(peaks.get(-1)?.rss ?? 0, rssBytes(nginx)) });
  };
  sample();
  const sampler = setInterval(sample, 50);
  const began = Date.now();
  const took = (promise: Promise<number>) => promise.then((bytes) => ({ bytes, seconds: (Date.now() - began) / 1000 }));
  let done: { bytes: number; seconds: number }[];
  try {
    done = await Promise.all([took(upload(target.url, scale.bytes)), took(download(target.url, scale.bytes))]);
  } finally {
    clearInterval(sampler);
  }
  const got = done.map((transfer) => transfer.bytes);
  report.figure('upload, response took', done.map(({ seconds }) => `${seconds.toFixed(1)} s (${megabytes(scale.bytes / seconds)}/s)`).join(', '));
  report.figure('bytes the app read / the client received', `${got[0]} / ${got[1]}`);
  const tsgiPeaks = [...peaks].filter(([pid]) => pid > 0).map(([, peak]) => peak);
  for (const peak of [...peaks.values()]) report.figure(`peak VmRSS, ${peak.role}`, megabytes(peak.rss));
  report.check(got[0] === scale.bytes && got[1] === scale.bytes, `every byte went through both ways (${got[0]}, ${got[1]} of ${scale.bytes})`);
  report.check(tsgiPeaks.length >= 3, `the primary and two workers were sampled (${tsgiPeaks.length} processes)`);
  const highest = Math.max(...tsgiPeaks.map((peak) => peak.rss));
  report.check(highest < RSS_LIMIT, `every tsgi process stayed under ${megabytes(RSS_LIMIT)} (highest ${megabytes(highest)})`);
}

export async function bigTransfers(report: Report, scale: TransferScale = FULL): Promise<void> {
  const scope = new Scope();
  try {
    const target = await startFastcgiWorkers(scope, serverModule('big'), { location: 'fastcgi_request_buffering off; fastcgi_buffering off;' });
    await transfer(report, target, scale);
  } finally {
    await scope.close();
  }
}
