/**
 * One run of one CGI script for one request, as a response body: the first pull compiles a
 * TypeScript script whose compiled module is out of date, prepares stdin, spawns the script,
 * reads its header block and starts the response; later pulls stream its stdout. Closing the
 * body (client gone, error) kills the script's process group.
 */
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { HttpError } from '../../handler.js';
import type { Application, Body, Chunk, Environ, StartResponse } from '../../types.js';
import { isindexWords } from './arguments.js';
import { buildEnvironment } from './environment.js';
import type { ProgramLocation } from './environment.js';
import { RAW_OUTPUT_KEY, isNphScript, splitNphHead } from './nph.js';
import type { TakeOver } from './nph.js';
import { describeExit } from '../../gateways/launch/process.js';
import { LineSplitter } from '../../gateways/line-splitter.js';
import type { ScriptProcess } from '../../gateways/launch/process.js';
import { prepareBody } from './request-body.js';
import type { PreparedBody } from './request-body.js';
import type { ChunkPuller, Step } from '../../gateways/launch/stdout-reader.js';
import { BadGateway, HeadReader, parseHead, parseHeaderLines } from '../../gateways/cgi-response.js';
import { redirectEnviron } from './redirect.js';
import { pathSegments, rawPathProblem, Refusal } from '../safe-path.js';
import { logLine } from './settings.js';
import { textResponse } from '../text-response.js';
import type { HostSettings } from './settings.js';
import { typescriptProgram } from './typescript.js';

/** Where a local redirect lands when the host has no `dispatch`: an app and the split of the path, or undefined. */
export type RedirectTarget = (path: string) => { app: Application; scriptName: string; pathInfo: string } | undefined;

export interface ScriptRequest {
  environ: Environ;
  startResponse: StartResponse;
  location: ProgramLocation;
  settings: HostSettings;
  redirectTarget: RedirectTarget;
}

export function runScript(request: ScriptRequest): Body {
  const run = new ScriptRun(request);
  return {
    [Symbol.asyncIterator]: () => run.output(),
    close: () => run.close(),
  };
}

class ScriptRun {
  private process: ScriptProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private closed = false;
  private finished = false;
  private started = false;

  constructor(private readonly request: ScriptRequest) {}

  /** The request's startResponse, noting that the response has begun. */
  private readonly startResponse: StartResponse = (status, headers, excInfo) => {
    this.started = true;
    return this.request.startResponse(status, headers, excInfo);
  };

  private log(message: string): void {
    logLine(this.request.settings, this.request.environ, `cgi ${this.request.location.scriptName}: ${message}`);
  }

  close(): void {
    this.closed = true;
    if (!this.finished) this.process?.kill();
  }

  async *output(): AsyncGenerator<Chunk, void, undefined> {
    const { environ, settings, location } = this.request;
    let body: PreparedBody | undefined;
    try {
      // Compiled before the body is read: a script with errors should not wait for a large upload.
      const compiling = location.typescript ? typescriptProgram(location, settings, (message) => this.log(message)) : undefined;
      const compiled = compiling instanceof Promise ? await compiling : compiling;
      if (this.closed) return;
      // Synchronous unless a body has to be spooled: most requests skip the await.
      const prepared = prepareBody(environ, settings.bodyLimit);
      body = prepared instanceof Promise ? await prepared : prepared;
      if (this.closed) return;
      const { env, dropped } = buildEnvironment(environ, location, settings, body.kind === 'none' ? undefined : body.length);
      if (dropped.length > 0) this.log(`not passed to the script: ${dropped.join(', ')}`);
      const args = settings.isindexArgs ? [...settings.args, ...isindexWords(environ.QUERY_STRING)] : settings.args;
      const cwd = settings.cwd ?? dirname(location.filename);
      const launcher = settings.launcher();
      const stdinFd = body.kind === 'file' && launcher.takesFd ? body.file.fd : undefined;
      const program = compiled !== undefined ? { file: process.execPath, args: [compiled, ...args] }
        : location.interpreter === undefined ? { file: location.filename, args } : { file: location.interpreter, args: [location.filename, ...args] };
      const started = launcher.start({ ...program, cwd, env, runAs: settings.runAs, hasBody: body.kind !== 'none' && stdinFd === undefined, stdinFd });
      const proc = started instanceof Promise ? await started : started;
      this.process = proc;
      if (this.closed) return;
      this.watch(proc);
      if (proc.stdin) void this.feed(body, proc, proc.stdin);
      const response = await this.respond(proc);
      try {
        if (response.first) yield response.first;
        if (response.rest) yield* response.rest;
      } finally {
        proc.stdout.stop();
      }
      this.finished = true;
    } catch (error) {
      // An expected failure (413, 502, 504...) is answered here: the host has logged its reason,
      // and the engine would log it again with a stack trace.
      if (!(error instanceof HttpError) || this.started) throw error;
      yield* textResponse(this.startResponse, error.status, error.message) as Chunk[];
    } finally {
      if (!this.finished) this.process?.kill();
      if (body?.kind === 'file') await body.file.close().catch(() => {});
    }
  }

  /** Time limit, stderr lines and the exit status. */
  private watch(proc: ScriptProcess): void {
    const { settings, location } = this.request;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.log(`time limit of ${settings.timeout} ms reached: killing its process group`);
      proc.kill();
    }, settings.timeout);
    this.timer.unref();
    const sink = settings.stderr;
    if (sink === 'ignore') {
      proc.readStderr(() => {}, () => {});
    } else if (sink === 'inherit') {
      proc.readStderr((chunk) => process.stderr.write(chunk), () => {});
    } else {
      const lines = new LineSplitter(sink === 'log' ? (line) => this.log(line) : (line) => sink(line, location.scriptName));
      proc.readStderr((chunk) => lines.push(chunk), () => lines.end());
    }
    void proc.exited.then((exit) => {
      // Its spawner died, not the script: the time limit stays, the only thing that will stop it.
      if (exit.error?.code === 'ESPAWNER_LOST') return;
      clearTimeout(this.timer);
      // A program that never started is reported with the response it got.
      const problem = exit.error ? undefined : describeExit(exit);
      if (problem && !this.timedOut && !this.closed) this.log(problem);
    });
  }

  /** Copies the request body to stdin; a body that breaks off kills the script rather than truncating its input. */
  private async feed(body: PreparedBody, proc: ScriptProcess, stdin: Writable): Promise<void> {
    stdin.on('error', () => {});
    if (body.kind === 'none') return void stdin.end();
    if (body.kind === 'memory') return void stdin.end(body.data);
    const input = body.kind === 'file' ? body.file.createReadStream({ start: 0, autoClose: false })[Symbol.asyncIterator]() : body.input;
    let open = true;
    try {
      for (let step = await input.next(); !step.done; step = await input.next()) {
        if (this.closed || (!open && body.kind === 'file')) break;
        // Once the script stops reading, the rest is drained so the connection stays usable.
        if (open && stdin.writable && !stdin.write(step.value)) open = await drained(stdin);
        else if (!stdin.writable) open = false;
      }
      stdin.end();
    } catch (error) {
      this.log(`request body broke off (${error instanceof Error ? error.message : String(error)}): killing the script`);
      stdin.destroy();
      proc.kill();
    }
  }

  /**
   * Reads the header block and starts the response. A short output is complete by then and
   * comes back whole, as `first`; otherwise `rest` streams the remainder. No generator for the
   * common case: this runs once per request. The caller stops stdout once the body is done.
   */
  private async respond(proc: ScriptProcess): Promise<{ first?: Buffer; rest?: AsyncGenerator<Chunk, void, undefined> }> {
    const stdout = proc.stdout;
    // A stream torn down by a kill (time limit, client gone) just ends.
    const output = new OutputReader(stdout, (error) => {
      if (this.timedOut || this.closed) return { done: true, value: undefined };
      throw error;
    });
    try {
      const [head, rest, raw] = await this.readHead(proc, output);
      if (this.request.settings.nph && isNphScript(this.request.location.filename)) {
        return { rest: this.passNph(head, raw, rest, output) };
      }
      const parsed = this.guard(() => parseHead(head, (message) => this.log(message)));
      if (parsed.kind === 'local-redirect') {
        this.finished = true;
        proc.kill();
        return { rest: this.redirect(parsed.location) };
      }
      // Output that follows within a moment goes out with the headers; when that is all of it,
      // the response gets a Content-Length and leaves in one write instead of chunks.
      const ready = await output.ready(READY_LIMIT, READY_WAIT);
      const parts = rest.length > 0 ? [rest, ...ready.parts] : ready.parts;
      let ended = ready.ended;
      if (parsed.kind === 'document' && parsed.needsEmptyBody) {
        if (parts.length === 0 && !ended) {
          const step = await output.pull();
          if (step.done) ended = true;
          else parts.push(step.value);
        }
        if (parts.some((part) => part.length > 0)) this.guard(() => { throw new BadGateway(`a body after "Status: ${parsed.status}" without a Content-Type`); });
      }
      const size = parts.reduce((total, part) => total + part.length, 0);
      const declared = headerValue(parsed.headers, 'content-length');
      // Known before the head goes out: more bytes than announced, or an output that ended short.
      const mismatch = declared !== undefined && (ended && !this.timedOut ? Number(declared) !== size : Number(declared) < size);
      if (mismatch && !bodyless(parsed.status) && this.request.environ.REQUEST_METHOD !== 'HEAD') {
        this.guard(() => { throw new BadGateway(`Content-Length ${declared} but ${size} bytes of body`); });
      }
      const headers = ended && !this.timedOut && !bodyless(parsed.status) && declared === undefined
        ? [...parsed.headers, ['Content-Length', String(size)] as [string, string]]
        : parsed.headers;
      this.startResponse(parsed.status, headers);
      // A 204 or 304 has no body, whatever the script wrote: its bytes are read and dropped
      // (the engine would take them against a Content-Length, which here describes another response).
      const discard = bodyless(parsed.status);
      const first = size > 0 && !discard ? (parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)) : undefined;
      if (ended && !this.timedOut) return first ? { first } : {};
      if (ended) return { ...(first ? { first } : {}), rest: this.cutShort() };
      const checked = declared !== undefined && !discard && this.request.environ.REQUEST_METHOD !== 'HEAD';
      return { ...(first ? { first } : {}), rest: this.rest(output, checked ? { declared: Number(declared), sent: size } : undefined, discard) };
    } catch (error) {
      stdout.stop();
      throw error;
    }
  }

  /** Ends a response whose script reached its time limit: what it wrote goes out, then the cut. */
  private async *cutShort(): AsyncGenerator<Chunk, void, undefined> {
    throw new Error(`CGI script ${this.request.location.scriptName} reached its time limit: response cut short`);
  }

  /** The rest of the body, to the end of stdout; the response completes there, the exit is logged when it comes. */
  private async *rest(output: OutputReader, length: { declared: number; sent: number } | undefined, discard = false): AsyncGenerator<Chunk, void, undefined> {
    for (let step = await output.pull(); !step.done; step = await output.pull()) {
      if (discard) continue;
      // The engine would refuse the excess too, but as its own error (500, stack trace): this names the script.
      if (length && (length.sent += step.value.length) > length.declared) {
        this.guard(() => { throw new BadGateway(`more body than its Content-Length of ${length.declared}`); });
      }
      yield step.value;
    }
    if (this.timedOut) throw new Error(`CGI script ${this.request.location.scriptName} reached its time limit: response cut short`);
    if (length && length.sent < length.declared) {
      this.guard(() => { throw new BadGateway(`${length.sent} bytes of body for its Content-Length of ${length.declared}`); });
    }
  }

  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof BadGateway) {
        this.log(`bad response: ${error.message}`);
        throw new HttpError(502, `Bad Gateway: the CGI script ${this.request.location.scriptName} sent an invalid response: ${error.message}.`);
      }
      throw error;
    }
  }

  private async readHead(proc: ScriptProcess, output: OutputReader): Promise<[string, Buffer, Buffer]> {
    const reader = new HeadReader();
    let seen = 0;
    for (;;) {
      const step = await output.pull();
      if (step.done) throw await this.failedBeforeHead(proc, seen);
      seen += step.value.length;
      const found = this.guard(() => reader.push(step.value));
      if (found) return found;
    }
  }

  private async failedBeforeHead(proc: ScriptProcess, seen: number): Promise<HttpError> {
    const exit = await proc.exited;
    const { scriptName } = this.request.location;
    if (this.timedOut) return new HttpError(504, `Gateway Timeout: the CGI script ${scriptName} did not answer within ${this.request.settings.timeout} ms.`);
    if (exit.error) {
      const user = this.request.settings.runAs?.name;
      this.log(`could not be started: ${exit.error.message}`);
      if (exit.error.code === 'EACCES') return new HttpError(403, `CGI script ${scriptName} cannot be run${user ? ` by user ${user}` : ''}: permission denied.`);
      return new HttpError(502, `Bad Gateway: the CGI script ${scriptName} could not be started (${exit.error.code ?? 'error'}).`);
    }
    const how = describeExit(exit) ?? 'exit status 0';
    const reason = seen === 0 ? `it ended (${how}) without any output` : `it ended (${how}) before the blank line that ends its headers`;
    this.log(`bad response: ${reason}`);
    return new HttpError(502, `Bad Gateway: the CGI script ${scriptName} sent no complete header block: ${reason}.`);
  }

  private async *passNph(head: string, headBytes: Buffer, rest: Buffer, output: OutputReader): AsyncGenerator<Chunk, void, undefined> {
    const takeOver = this.request.environ[RAW_OUTPUT_KEY] as TakeOver | undefined;
    if (typeof takeOver === 'function') {
      const raw = takeOver();
      await raw.write(headBytes);
      if (rest.length > 0) await raw.write(rest);
      for (let step = await output.pull(); !step.done; step = await output.pull()) await raw.write(step.value);
      await raw.end();
      // The front end has let go of this response: what the engine sends now goes nowhere.
      this.startResponse('200 OK', []);
      return;
    }
    const { status, headerBlock } = this.guard(() => splitNphHead(head));
    const { headers } = this.guard(() => parseHeaderLines(headerBlock, (message) => this.log(message)));
    this.startResponse(status, headers);
    if (rest.length > 0) yield rest;
    for (let step = await output.pull(); !step.done; step = await output.pull()) yield step.value;
  }

  private async *redirect(location: string): AsyncGenerator<Chunk, void, undefined> {
    const { environ, settings } = this.request;
    const count = Number(environ['tsgi.cgi.redirects'] ?? 0);
    if (count >= settings.maxRedirects) {
      this.log(`local redirect to ${location} refused: more than ${settings.maxRedirects} in a row`);
      throw new HttpError(502, `Bad Gateway: too many local redirects (the limit is ${settings.maxRedirects}).`);
    }
    const next = this.guard(() => redirectEnviron(environ, location, count + 1));
    // The path is the script's, not the client's: a refusal of it is a bad response (502), not a 400.
    const refusal = rawPathProblem(next) ?? pathSegments(next.PATH_INFO);
    if (refusal instanceof Refusal) this.guard(() => { throw new BadGateway(`local redirect to ${JSON.stringify(location.slice(0, 200))} refused: ${refusal.reason}`); });
    let app = settings.dispatch;
    if (app) {
      next.SCRIPT_NAME = '';
    } else {
      const target = this.request.redirectTarget(next.PATH_INFO);
      if (!target) {
        this.log(`local redirect to ${location} leads outside this CGI host, which has no dispatch option`);
        throw new HttpError(502, `Bad Gateway: the CGI script redirected to ${location}, which this CGI host does not serve.`);
      }
      app = target.app;
      next.SCRIPT_NAME = target.scriptName;
      next.PATH_INFO = target.pathInfo;
    }
    const body = await app(next, this.startResponse);
    try {
      for await (const chunk of body as AsyncIterable<Chunk>) yield chunk;
    } finally {
      await body.close?.();
    }
  }
}

/** Resolves true once `stream` drains, false if it closes or fails first. */
function drained(stream: Writable): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (open: boolean) => () => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onClose);
      resolve(open);
    };
    const onDrain = done(true);
    const onClose = done(false);
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', onClose);
  });
}

/** Output held back with the headers, hoping for the end of it: at most this many bytes... */
const READY_LIMIT = 256 * 1024;
/**
 * ...for at most this long. A script's end of output comes a little after its last write (the
 * kernel closes its pipe only once its memory is torn down), and a response sent before it
 * would go out chunked, in two writes; waiting briefly for it costs a streaming script only
 * this delay before its first bytes.
 */
const READY_WAIT = 10;
const LATER = Symbol('later');

/** A script's stdout: `pull()` waits for the next piece; `ready()` takes what comes within a moment. */
class OutputReader {
  private pending: Promise<Step> | undefined;

  constructor(
    private readonly source: ChunkPuller,
    private readonly onError: (error: Error) => Step,
  ) {}

  pull(): Promise<Step> {
    const step = this.pending ?? this.source.next().catch(this.onError);
    this.pending = undefined;
    return step;
  }

  /** The pieces that arrive within `wait` ms (up to `limit` bytes), and whether the output ended. */
  async ready(limit: number, wait: number): Promise<{ parts: Buffer[]; ended: boolean }> {
    const parts: Buffer[] = [];
    let size = 0;
    // What is already at hand needs no timer: a script that has exited has handed over everything.
    while (size < limit && !this.pending) {
      const step = this.source.poll();
      if (!step) break;
      if (step.done) return { parts, ended: true };
      parts.push(step.value);
      size += step.value.length;
    }
    let timer: NodeJS.Timeout | undefined;
    let later: Promise<typeof LATER> | undefined;
    try {
      while (size < limit) {
        const step = this.pull();
        later ??= new Promise<typeof LATER>((resolve) => (timer = setTimeout(resolve, wait, LATER)));
        const first = await Promise.race([step, later]);
        if (first === LATER) {
          this.pending = step;
          return { parts, ended: false };
        }
        if (first.done) return { parts, ended: true };
        parts.push(first.value);
        size += first.value.length;
      }
      return { parts, ended: false };
    } finally {
      clearTimeout(timer);
    }
  }
}

function bodyless(status: string): boolean {
  const code = Number(status.slice(0, 3));
  return code < 200 || code === 204 || code === 304;
}

function headerValue(headers: [string, string][], lowerName: string): string | undefined {
  return headers.find(([name]) => name.toLowerCase() === lowerName)?.[1];
}
