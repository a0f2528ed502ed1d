/**
 * Scenario 3: 10,000 multipart uploads that break off at random points, against an app that
 * spills uploads to disk with FieldStorage (and streams back a named copy), under `tsgi run`
 * and behind nginx (request buffering off, so the upload reaches the workers as it comes),
 * and against a sh CGI script under `tsgi serve --cgi`. Afterwards: no temporary file left in
 * the server's TMPDIR, descriptors back to where they were, no zombie, RSS growth bounded.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { requestOnce } from './clients.js';
import { cgroupFdCount, fdCountBesidesCgroups, fdSummary, megabytes, MB, rssBytes, zombiesBelow } from './procfs.js';
import { Scope } from './processes.js';
import type { Report } from './report.js';
import { openDir, serverModule, startFastcgiWorkers, startRun, startServeCgi, writeCgiScripts, type Target } from './targets.js';
import { abortedUpload, seededRandom, type Cut } from './upload-clients.js';

export interface UploadScale {
  uploads: number;
  concurrency: number;
}

export const FULL: UploadScale = { uploads: 10_000, concurrency: 32 };
export const SHORT: UploadScale = { uploads: 400, concurrency: 16 };

/** RSS may grow this much from the first tenth of the run to its end (heap sizing, not a leak). */
const RSS_GROWTH_LIMIT = 48 * MB;
const FD_SLACK = 2;

/** The server's descriptors, but for the run cgroups the native launcher pools (checked on their own). */
function openFds(target: Target): number {
  return target.pids().reduce((sum, pid) => sum + fdCountBesidesCgroups(pid), 0);
}

/** Run cgroups held: the pool keeps at most 128, two descriptors each. */
function cgroupFds(target: Target): number {
  return target.pids().reduce((sum, pid) => sum + cgroupFdCount(pid), 0);
}

function rss(target: Target): number[] {
  return target.pids().map(rssBytes);
}

async function settle(check: () => boolean, limitMs: number): Promise<boolean> {
  for (const deadline = Date.now() + limitMs; Date.now() < deadline;) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

async function measure(report: Report, target: Target, tmp: string, path: string, scale: UploadScale, seed: number, stopFront?: () => Promise<void>): Promise<void> {
  report.section(`${target.name}: ${scale.uploads} aborted uploads to ${path}, ${scale.concurrency} at a time (seed ${seed})`);
  const form = Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n' + 'x'.repeat(10_000) + '\r\n--b--\r\n');
  const warm = await requestOnce(target.url + path, 'POST', form, { 'Content-Type': 'multipart/form-data; boundary=b' });
  report.check(warm.status === 200, `a whole upload is answered 200 (${warm.status})`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const tmpBefore = new Set(readdirSync(tmp));
  const fdsBefore = openFds(target);
  const random = seededRandom(seed);
  const cuts = new Map<Cut, number>();
  let lingered = 0;
  let answered = 0;
  let started = 0;
  let rssWarm: number[] = [];
  const rssPeak = rss(target);
  const sampler = setInterval(() => rss(target).forEach((value, i) => (rssPeak[i] = Math.max(rssPeak[i] ?? 0, value))), 200);
  const began = Date.now();
  try {
    const loop = async () => {
      while (started < scale.uploads) {
        started++;
        if (started === Math.ceil(scale.uploads / 10)) rssWarm = rss(target);
        const outcome = await abortedUpload(target.port, path, random);
        cuts.set(outcome.cut, (cuts.get(outcome.cut) ?? 0) + 1);
        if (outcome.lingered) lingered++;
        if (outcome.answered) answered++;
      }
    };
    await Promise.all(Array.from({ length: scale.concurrency }, loop));
  } finally {
    clearInterval(sampler);
  }
  const seconds = (Date.now() - began) / 1000;
  const rssEnd = rss(target);
  if (stopFront) await stopFront();
  const leftovers = () => readdirSync(tmp).filter((name) => !tmpBefore.has(name));
  const fdsSettled = await settle(() => openFds(target) <= fdsBefore + FD_SLACK && leftovers().length === 0, 10_000);
  const zombies = zombiesBelow(target.pids());
  const growth = Math.max(...rssEnd.map((value, i) => value - (rssWarm[i] ?? value)));

  report.figure('uploads', `${scale.uploads} in ${seconds.toFixed(1)} s (${[...cuts].map(([cut, n]) => `${cut} ${n}`).join(', ')})`);
  report.figure('connections the server left open after a FIN', lingered);
  report.figure('uploads that saw an answer before the cut', answered);
  report.figure('temporary files left', leftovers().length);
  report.figure('descriptors before / after', `${fdsBefore} / ${openFds(target)}`);
  report.figure('RSS at 10 % / at the end / peak', target.pids().map((_, i) => `${megabytes(rssWarm[i] ?? 0)} / ${megabytes(rssEnd[i] ?? 0)} / ${megabytes(rssPeak[i] ?? 0)}`).join('; '));
  report.check(leftovers().length === 0, `no temporary file left in TMPDIR (${leftovers().slice(0, 5).join(', ') || 'none'})`);
  report.check(fdsSettled, `no descriptor growth (${fdsBefore} before, ${openFds(target)} after: ${target.pids().map(fdSummary).join(' | ')})`);
  report.check(zombies.length === 0, `no zombie (${zombies.map((entry) => `${entry.pid} ${entry.comm}`).join(', ') || 'none'})`);
  report.check(cgroupFds(target) <= 2 * 128, `run cgroups held no more than the launcher's pool of 128 (${cgroupFds(target) / 2})`);
  report.check(growth < RSS_GROWTH_LIMIT, `RSS growth from 10 % to the end under ${megabytes(RSS_GROWTH_LIMIT)} (${megabytes(growth)})`);
  report.check(lingered === 0, `the server closed every connection a client half-closed mid-request (${lingered} left open)`);
}

export async function abortedUploads(report: Report, scale: UploadScale = FULL, seed = Date.now() % 100_000): Promise<void> {
  const root = openDir('soak-uploads');
  const tmp = (name: string) => {
    const dir = join(root, `tmp-${name}`);
    mkdirSync(dir);
    return dir;
  };
  writeCgiScripts(root, { 'upload.sh': "printf 'Content-Type: text/plain\\r\\n\\r\\n'\nexec wc -c\n" });
  const scope = new Scope();
  try {
    const appTmp = tmp('run');
    await measure(report, await startRun(scope, serverModule('upload'), { TMPDIR: appTmp }), appTmp, '/upload', scale, seed);
    await scope.close();
    const cgiTmp = tmp('cgi');
    await measure(report, await startServeCgi(scope, root, { TMPDIR: cgiTmp }), cgiTmp, '/cgi-bin/upload.sh', scale, seed + 1);
    await scope.close();
    const fcgiTmp = tmp('fastcgi');
    const behind = await startFastcgiWorkers(scope, serverModule('upload'), { location: 'fastcgi_request_buffering off;', env: { TMPDIR: fcgiTmp } });
    // nginx keeps idle connections to the workers: stopped first, so that the count is the workers' own.
    await measure(report, behind, fcgiTmp, '/upload', scale, seed + 2, () => behind.nginx!.stop());
  } finally {
    await scope.close();
    rmSync(root, { recursive: true, force: true });
  }
}
