/**
 * The TSGI contract: what a server hands an application and what the application
 * hands back. docs/SPEC.md states the rules; validate.ts enforces them.
 */

/** A piece of response body. Strings are sent as UTF-8. */
export type Chunk = Uint8Array | string;

/**
 * A response body. Servers iterate it once; if it has a `close()` method, servers call it
 * exactly once when they are done with it, whether it completed, failed or the client left.
 */
export type Body = (Iterable<Chunk> | AsyncIterable<Chunk>) & { close?(): void | Promise<void> };

/** Response headers in order, duplicates allowed (Set-Cookie). Latin-1 strings, no controls. */
export type HeaderList = [name: string, value: string][];

/**
 * The legacy imperative writer returned by `startResponse`. Bytes go out before the body's
 * own chunks. The returned promise, when there is one, resolves once the chunk has been
 * accepted by the transport: awaiting it is how an app honours backpressure.
 */
export type Write = (chunk: Chunk) => void | Promise<void>;

/**
 * Begins the response. Called once; called again only with `excInfo` (the caught error)
 * to replace headers not yet sent, in which case an already-sent response rethrows it.
 */
export type StartResponse = (status: string, headers: HeaderList, excInfo?: unknown) => Write;

/** A TSGI application. */
export type Application = (environ: Environ, startResponse: StartResponse) => Body | Promise<Body>;

/** Where an application writes diagnostics (`tsgi.errors`). */
export interface ErrorStream {
  write(text: string): void;
  flush?(): void;
}

/** The request body: bytes, at most CONTENT_LENGTH of them, then the end. Iterate once. */
export type InputStream = AsyncIterable<Uint8Array>;

/** Builds an efficient body from a file path or descriptor (`tsgi.file_wrapper`). */
export type FileWrapperFactory = (file: string | number, blockSize?: number) => Body;

/** The CGI meta-variables a request may carry (RFC 3875 §4.1 plus conventional extras). */
export interface CgiVariables {
  REQUEST_METHOD: string;
  /** The mount point of the application: "" or "/"-prefixed, never "/" alone, percent-decoded. */
  SCRIPT_NAME: string;
  /** The rest of the path: "" or "/"-prefixed, percent-decoded as UTF-8. */
  PATH_INFO: string;
  /** The raw query, never decoded; "" when there is none. */
  QUERY_STRING: string;
  CONTENT_TYPE?: string;
  CONTENT_LENGTH?: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  SERVER_SOFTWARE?: string;
  GATEWAY_INTERFACE?: string;
  REMOTE_ADDR?: string;
  REMOTE_PORT?: string;
  REMOTE_HOST?: string;
  REMOTE_USER?: string;
  AUTH_TYPE?: string;
  /** The request target exactly as the client sent it, undecoded. */
  REQUEST_URI?: string;
  HTTPS?: string;
  PATH_TRANSLATED?: string;
  SCRIPT_FILENAME?: string;
  DOCUMENT_ROOT?: string;
  REDIRECT_STATUS?: string;
  [header: `HTTP_${string}`]: string | undefined;
}

/** The TSGI extension keys every server provides. */
export interface TsgiKeys {
  'tsgi.version': readonly [1, 0];
  'tsgi.url_scheme': 'http' | 'https';
  'tsgi.input': InputStream;
  'tsgi.errors': ErrorStream;
  'tsgi.multithread': boolean;
  'tsgi.multiprocess': boolean;
  'tsgi.run_once': boolean;
  'tsgi.file_wrapper'?: FileWrapperFactory;
}

/** What an application receives. Server-specific extras use a dotted prefix of their own. */
export interface Environ extends CgiVariables, TsgiKeys {
  [key: string]: unknown;
}

/** Wraps an application in another (middleware). */
export type Middleware = (app: Application) => Application;
