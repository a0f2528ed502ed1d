/**
 * TestClient: requests to one application with the same connection settings and headers,
 * and a cookie jar that carries Set-Cookie from one response into the next request.
 */
import type { Application } from '../types.js';
import { CookieJar } from './cookie-jar.js';
import type { ConnectionOptions, RequestHeadersInit, RequestOptions } from './options.js';
import { send } from './request.js';
import { headerLines, mergeHeaderLines } from './request-headers.js';
import { requestTarget } from './request-target.js';
import type { StreamingResponse, TestResponse } from './response.js';

export interface ClientOptions extends ConnectionOptions {
  /** Keep cookies across requests (default true); a CookieJar of your own to share or prefill one. */
  cookies?: boolean | CookieJar;
  /** Headers sent with every request; a request's own header of the same name replaces them. */
  baseHeaders?: RequestHeadersInit;
}

/** A request's options without the method and path a method call already names. */
export type MethodOptions = Omit<RequestOptions, 'method' | 'path'>;

/** `client.get(path, options)` and its siblings. */
export interface MethodCall {
  (path: string, options: MethodOptions & { stream: true }): Promise<StreamingResponse>;
  (path?: string, options?: MethodOptions & { stream?: false }): Promise<TestResponse>;
  (path?: string, options?: MethodOptions): Promise<TestResponse | StreamingResponse>;
}

export class TestClient {
  /** The cookies kept so far; undefined when the client was made with `cookies: false`. */
  readonly cookies: CookieJar | undefined;
  readonly #defaults: ConnectionOptions;
  readonly #baseHeaders: [string, string][];

  constructor(
    readonly app: Application,
    options: ClientOptions = {},
  ) {
    const { cookies = true, baseHeaders, ...defaults } = options;
    this.cookies = cookies instanceof CookieJar ? cookies : cookies ? new CookieJar() : undefined;
    this.#defaults = defaults;
    this.#baseHeaders = headerLines(baseHeaders);
  }

  /** Sends one request, with the client's settings under the request's own. */
  request(options: RequestOptions & { stream: true }): Promise<StreamingResponse>;
  request(options?: string | (RequestOptions & { stream?: false })): Promise<TestResponse>;
  request(options?: string | RequestOptions): Promise<TestResponse | StreamingResponse>;
  async request(given: string | RequestOptions = {}): Promise<TestResponse | StreamingResponse> {
    const options: RequestOptions = { ...this.#defaults, ...(typeof given === 'string' ? { path: given } : given) };
    if (this.#defaults.environ && typeof given !== 'string' && given.environ) options.environ = { ...this.#defaults.environ, ...given.environ };
    options.headers = mergeHeaderLines(this.#baseHeaders, headerLines(options.headers));
    const path = requestTarget(options.path ?? '/').rawPath;
    const cookie = this.cookies?.header(path);
    const response = await send(this.app, options, cookie === undefined ? [] : [['Cookie', cookie]]);
    for (const setCookie of response.headers.getSetCookie()) this.cookies?.store(setCookie, path);
    return response;
  }

  readonly get: MethodCall = this.#method('GET');
  readonly head: MethodCall = this.#method('HEAD');
  readonly post: MethodCall = this.#method('POST');
  readonly put: MethodCall = this.#method('PUT');
  readonly patch: MethodCall = this.#method('PATCH');
  readonly delete: MethodCall = this.#method('DELETE');
  readonly options: MethodCall = this.#method('OPTIONS');

  #method(method: string): MethodCall {
    return ((path = '/', options: MethodOptions = {}) => this.request({ ...options, method, path })) as MethodCall;
  }
}
