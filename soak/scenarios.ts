/** The scenarios `npm run soak` runs, in order, at full scale. */
import type { Report } from './report.js';
import { abortedUploads } from './aborted-uploads.js';
import { bigTransfers } from './big-transfers.js';
import { slowloris } from './slowloris.js';
import { stalledReaders } from './stalled-readers.js';
import { workerKills } from './worker-kills.js';

export interface Scenario {
  name: string;
  title: string;
  full(report: Report): Promise<void>;
}

export const scenarios: Scenario[] = [
  { name: 'slowloris', title: '1,000 slowloris connections while wrk measures honest traffic', full: (report) => slowloris(report) },
  { name: 'stalled-readers', title: '1,000 clients stop reading mid-response', full: (report) => stalledReaders(report) },
  { name: 'aborted-uploads', title: '10,000 uploads aborted at random points', full: (report) => abortedUploads(report) },
  { name: 'worker-kills', title: 'a worker SIGKILLed every second under load behind nginx', full: (report) => workerKills(report) },
  { name: 'big-transfers', title: 'a 1 GB upload and a 1 GB response under --workers 2', full: (report) => bigTransfers(report) },
];
