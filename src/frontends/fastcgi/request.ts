/**
 * One FastCGI request: its params as they arrive, its body as `tsgi.input`, and the
 * ResponseTarget that turns the engine's response into STDOUT records (a CGI response:
 * `Status:` line, headers, blank line, body) ended by END_REQUEST.
 */
import type { ClientState, ResponseTarget } from '../../handler.js';
import type { ErrorStream, HeaderList } from '../../types.js';
import { cgiHead } from '../cgi-head.js';
import type { StreamedInput } from '../streamed-input.js';
import { COPY_LIMIT, encodeEndRequest, encodeStream, ProtocolStatus, RecordType, streamRecords, type StreamOptions } from './records.js';

/** What a request needs from its connection. */
export interface RequestHost {
  /** Writes bytes; false means the socket's buffer is full. */
  send(data: Buffer): boolean;
  /** Writes these in one go (writev), nothing in between; false means the socket's buffer is full. */
  sendAll(pieces: readonly Uint8Array[]): boolean;
  /** Resolves when the socket can take more, or is gone. */
  drained(): Promise<void>;
  /** The request has sent END_REQUEST (or was given up): forget it. */
  release(request: FastCgiRequest): void;
  /** Kills the connection so the web server sees the response cut short. */
  destroy(reason: string): void;
}

export class FastCgiRequest implements ResponseTarget, ClientState {
  gone = false;
  /** END_REQUEST went out (or the request was answered without running the application). */
  finished = false;
  paramsParts: Buffer[] = [];
  paramsBytes = 0;
  started = false;
  input: StreamedInput | undefined;
  /** Watches for PARAMS or STDIN that stop arriving. */
  timer: NodeJS.Timeout | undefined;
  /** A record of this request arrived since the timer was last armed. */
  heard = false;
  private head: Buffer | undefined;
  private goneListeners: (() => void)[] = [];

  constructor(
    readonly id: number,
    readonly role: number,
    readonly keepConn: boolean,
    private readonly host: RequestHost,
  ) {}

  onGone(listener: () => void): void {
    if (this.gone) listener();
    else this.goneListeners.push(listener);
  }

  /** The web server aborted the request or the connection died: stop the work. */
  markGone(reason: unknown): void {
    if (this.gone) return;
    this.gone = true;
    this.input?.fail(reason);
    const listeners = this.goneListeners;
    this.goneListeners = [];
    for (const listener of listeners) listener();
  }

  /** `tsgi.errors` as FCGI_STDERR records of this request. */
  stderrStream(): ErrorStream {
    return {
      write: (text: string) => {
        if (this.gone || this.finished || text.length === 0) return;
        this.host.send(encodeStream(RecordType.Stderr, this.id, [Buffer.from(text, 'utf8')]));
      },
    };
  }

  sendHead(status: number, reason: string, headers: HeaderList): void {
    this.head = cgiHead(status, reason, headers);
  }

  private pieces(chunk: Uint8Array | undefined): Uint8Array[] {
    const head = this.head;
    this.head = undefined;
    if (!head) return chunk ? [chunk] : [];
    return chunk ? [head, chunk] : [head];
  }

  /** STDOUT records of `chunk` (after the head, if it has not gone yet): a small one copied into one buffer, a large one written as it is. */
  private sendStdout(chunk: Uint8Array | undefined, options?: StreamOptions): boolean {
    const pieces = this.pieces(chunk);
    if (chunk === undefined || chunk.length < COPY_LIMIT) return this.host.send(encodeStream(RecordType.Stdout, this.id, pieces, options));
    return this.host.sendAll(streamRecords(RecordType.Stdout, this.id, pieces, options));
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.gone || this.finished) return;
    if (!this.sendStdout(chunk)) return this.host.drained();
  }

  end(last?: Uint8Array): void {
    if (this.gone || this.finished) return;
    this.finished = true;
    this.sendStdout(last, { endRequest: { appStatus: 0, protocolStatus: ProtocolStatus.RequestComplete } });
    this.host.release(this);
  }

  abort(): void {
    if (this.gone || this.finished) return;
    this.finished = true;
    // END_REQUEST would tell the web server the response is complete; only a cut
    // connection makes it pass the failure on to the client.
    this.host.destroy(`request ${this.id}: the response failed after its headers were sent`);
  }

  /** Ends the request without running (or without finishing) the application. */
  refuse(protocolStatus: number, appStatus = 0): void {
    if (this.finished) return;
    this.finished = true;
    this.host.send(encodeEndRequest(this.id, appStatus, protocolStatus));
    this.host.release(this);
  }
}
