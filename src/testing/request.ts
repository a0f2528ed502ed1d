/**
 * `request(app, options)`: one request through the real response engine and the validator,
 * in process. The environ is the HTTP front end's; the response is what the engine sends.
 */
import { REASONS, runApplication } from '../handler.js';
import type { Application } from '../types.js';
import { validator } from '../validate.js';
import { ErrorLog } from './error-log.js';
import { MemoryTarget } from './memory-target.js';
import type { RequestOptions } from './options.js';
import { buildRequest } from './request-environ.js';
import { ResponseAbortedError, StreamingResponse, TestResponse } from './response.js';

/** A request answered by the front end itself (a path that is not UTF-8, say): the app never ran. */
function refusal(status: number, message: string, log: ErrorLog, stream: boolean): TestResponse | StreamingResponse {
  const body = Buffer.from(message + '\n');
  const headers: [string, string][] = [['Content-Type', 'text/plain; charset=utf-8'], ['Content-Length', String(body.length)]];
  const reason = REASONS[status] ?? 'Error';
  if (!stream) return new TestResponse(status, reason, headers, body, undefined, log);
  const target = new MemoryTarget(true);
  target.sendHead(status, reason, headers);
  target.end(body);
  return new StreamingResponse(status, reason, headers, undefined, log, target, () => Promise.resolve());
}

/** Sends one request to `app`. `extraHeaders` are sent after the caller's (a client's cookies). */
export async function send(app: Application, options: RequestOptions, extraHeaders: [string, string][] = []): Promise<TestResponse | StreamingResponse> {
  const log = new ErrorLog(options.errors);
  const built = buildRequest(options, log, extraHeaders);
  if (built.refused) return refusal(built.refused.status, built.refused.message, log, options.stream === true);
  const { environ } = built;
  const checked = options.validate === false ? undefined : validator(app);
  const target = new MemoryTarget(options.stream === true);
  const running = runApplication(checked ?? app, environ, target, { client: target }).finally(() => target.settle());
  let finished: Promise<void> | undefined;
  // Once per request, whoever asks first: a contract violation wins over the cut it caused.
  const finish = (): Promise<void> => (finished ??= running.then(() => {
    checked?.assertClean();
    if (target.aborted) throw new ResponseAbortedError(target.head?.status ?? 0, options.stream ? Buffer.alloc(0) : target.takeAll(), target.aborted.error);
  }));

  if (!options.stream) {
    await finish();
    const head = target.head!;
    return new TestResponse(head.status, head.reason, head.headers, target.takeAll(), environ, log);
  }
  await target.headSent();
  // A response that is already complete (an error page, a short body) reports its problems now,
  // not only when someone reads it.
  if (!target.head || target.ended) await finish();
  const head = target.head!;
  return new StreamingResponse(head.status, head.reason, head.headers, environ, log, target, finish);
}

/**
 * Sends one request to `app` and resolves with its response: buffered, or streamed with
 * `stream: true`. A string is the path of a GET. Rejects with the ValidationError of a
 * broken TSGI rule, or a ResponseAbortedError when the response was cut after its head.
 */
export function request(app: Application, options: RequestOptions & { stream: true }): Promise<StreamingResponse>;
export function request(app: Application, options?: string | (RequestOptions & { stream?: false })): Promise<TestResponse>;
export function request(app: Application, options?: string | RequestOptions): Promise<TestResponse | StreamingResponse>;
export function request(app: Application, options: string | RequestOptions = {}): Promise<TestResponse | StreamingResponse> {
  return send(app, typeof options === 'string' ? { path: options } : options);
}
