/** What a test request and a test client can be told. */
import type { Environ, ErrorStream } from '../types.js';
import type { RequestBodyInit } from './request-body.js';
import type { FileFields, FormFields } from './multipart-body.js';
import type { QueryInit } from './request-target.js';

/** Request headers: an object (a list value sends the header once per value), a Headers, or [name, value] pairs. */
export type RequestHeadersInit = Record<string, string | readonly string[]> | Iterable<readonly [string, string]>;

/** Where the request comes from and goes to: the same for every request of a TestClient. */
export interface ConnectionOptions {
  /** Scheme, host and port the app is reached at (default `http://localhost`): SERVER_NAME, SERVER_PORT, Host, HTTPS. */
  baseUrl?: string;
  /** Where the app is mounted (default ""): paths start with it, and it goes to SCRIPT_NAME rather than PATH_INFO. */
  scriptName?: string;
  /** SERVER_PROTOCOL (default `HTTP/1.1`). */
  protocol?: string;
  /** REMOTE_ADDR (default `127.0.0.1`). */
  remoteAddr?: string;
  /** REMOTE_PORT (default 50000). */
  remotePort?: number;
  /** Keys set on the environ after it is built (REMOTE_USER, your middleware's own keys); undefined removes a key. */
  environ?: Partial<Environ> & Record<string, unknown>;
  /** Where tsgi.errors goes besides the response's `errors` (process.stderr while debugging, say). */
  errors?: ErrorStream;
  /** Run the app through `validator(app)` (default true): a broken rule rejects the request with its ValidationError. */
  validate?: boolean;
}

export interface RequestOptions extends ConnectionOptions {
  /** Default GET, or POST when there is a body, a form, files or JSON. */
  method?: string;
  /** The path, percent-encoded or not, optionally with a query (default `/`). */
  path?: string;
  /** Parameters added to the path's query, URL-encoded. */
  query?: QueryInit;
  headers?: RequestHeadersInit;
  /** The request body: bytes, text, or an (async) iterable streamed to tsgi.input (sent chunked unless you give a Content-Length). */
  body?: RequestBodyInit;
  /** Form fields: urlencoded, or multipart/form-data when there are `files`. */
  form?: FormFields;
  /** File inputs, sent with `form` as multipart/form-data. */
  files?: FileFields;
  /** A value sent as JSON (application/json). */
  json?: unknown;
  /** Resolve as soon as the head arrives and stream the body (`res.stream()`), instead of buffering it. */
  stream?: boolean;
}
