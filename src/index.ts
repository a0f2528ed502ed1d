/**
 * The package root: every public name of every subpath. A CGI script pays its imports on
 * every request, so only what such a script uses (the CGI front end, forms, the response
 * engine and the small helpers) and the constants are loaded here; the validator, the
 * servers, the CGI host, the Fetch adapters, the test client, cgitb and the diagnostics (~40 files and
 * node:http, node:https, node:net, node:child_process, node:crypto) load on first use.
 * A lazy name is a forwarder: it loads its module synchronously (require() of an ES module,
 * Node 20.19+) and calls the real function, so it behaves the same, errors included; it is
 * not the same function object as the subpath's.
 */
import type * as CgiHostModule from './apps/cgi-host.js';
import type * as DiagnosticsModule from './apps/diagnostics.js';
import type * as MountModule from './apps/mount.js';
import type * as StaticModule from './apps/static.js';
import type * as CgitbModule from './debug/cgitb.js';
import type * as FastCgiModule from './frontends/fastcgi/index.js';
import type * as RecordsModule from './frontends/fastcgi/records.js';
import type * as FetchModule from './frontends/fetch.js';
import type * as HttpModule from './frontends/http.js';
import type * as ListenModule from './frontends/listen.js';
import type * as ScgiModule from './frontends/scgi.js';
import type * as ValidateModule from './validate.js';
import type * as FastCgiClientModule from './gateways/fastcgi/index.js';
import type * as PhpModule from './apps/php/index.js';
import type * as AuthModule from './apps/auth/index.js';
import type * as TestingModule from './testing/index.js';

// Loaded with the root.
export type * from './types.js';
export { Headers } from './headers.js';
export {
  isHopByHop, guessScheme, applicationUri, requestUri, shiftPathInfo, setupTestingDefaults, readBody, FileWrapper, stderrStream,
  SERVER_SOFTWARE, RAW_OUTPUT_KEY,
} from './util.js';
export { runApplication, HttpError, parseStatus, checkHeaders, REASONS } from './handler.js';
export type { ResponseTarget, ClientState, RunOptions } from './handler.js';
export { runCgi, cgiEnviron, stdinInput } from './frontends/cgi.js';
export type { RunCgiOptions } from './frontends/cgi.js';
export {
  FieldStorage, MiniFieldStorage, parse, parseMultipart, parseHeader, parseQs, parseQsl, unquote, unquotePlus,
  UrlencodedParser, MultipartParser, validBoundary, parsePartHeaders, UploadFile, FormError,
} from './form/index.js';
export type {
  FieldStorageOptions, FormItem, FieldValue, FormOptions, FormEnviron, ParsedForm, MultipartParams, HeaderParams,
  ParseHeaderOptions, UrlencodedOptions, UrlencodedParserOptions, MultipartHandlers, MultipartLimits, MultipartOptions,
  PartInfo, UploadFileOptions, FormErrorCode, DecodeErrors,
} from './form/index.js';
export { RecordType, Role, ProtocolStatus, FCGI_KEEP_CONN, MAX_CONTENT_LENGTH } from './frontends/fastcgi/protocol.js';
export { CGI_VARIABLES } from './apps/cgi-variables.js';

// Types of the names loaded on first use.
export type { HttpServer, HttpServerOptions } from './frontends/http.js';
export type { AccessLogFormat, AccessLogOptions } from './frontends/access-log.js';
export type { FastCgiOptions } from './frontends/fastcgi/index.js';
export type { ScgiOptions } from './frontends/scgi.js';
export type { ValidatedApplication } from './validate.js';
export type { ListenAddress } from './frontends/listen.js';
export type {
  FastCgiClientOptions, FastCgiRequest, FastCgiResponse, ProcessManagerOptions, Lease, Upstream, CancelSignal, ScriptLocation, FastCgiAppOptions, ForwardingApplication,
} from './gateways/fastcgi/index.js';
export type { PhpAppOptions, PhpSpawnOptions } from './apps/php/index.js';
export type { CgiHostOptions, CgiHostApplication, CgiOptions, StderrSink, RawOutput, TakeOver, ScriptFilenameOptions } from './apps/cgi-host.js';
export type { StaticOptions } from './apps/static.js';
export type { AuthArea, PasswordCheck, HtpasswdProblem } from './apps/auth/index.js';
export type { CgiExtensionOptions } from './apps/cgi-host.js';
export type { CgitbOptions, ReportOptions } from './debug/cgitb.js';
export type { FormView, FormItemView, FormReader, DiagnosticsOptions } from './apps/diagnostics.js';
export type {
  ClientOptions, MethodCall, MethodOptions, Cookie, EncodedBody, FileFields, FormFields, UploadedFile, ConnectionOptions,
  RequestHeadersInit, RequestOptions, RequestBodyInit, QueryInit,
} from './testing/index.js';
export type {
  FetchClientInfo, FetchHandler, FetchStyleHandler, FromFetchOptions, ToFetchOptions, NodeListener, TsgiIncomingMessage,
} from './frontends/fetch.js';

// Made on the first lazy load: importing node:module and createRequire cost ~0.7 ms together, and a CGI script may never need them.
let requireModule: NodeJS.Require | undefined;

/** One module, loaded on its first use. */
function onFirstUse<M>(path: string): () => M {
  let loaded: M | undefined;
  return () => {
    if (loaded !== undefined) return loaded;
    try {
      requireModule ??= process.getBuiltinModule('node:module').createRequire(import.meta.url);
      return (loaded = requireModule(path) as M);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw error;
      throw new Error(`the tsgi package root loads ${path} on first use, which needs Node 20.19 or newer; import from the subpath instead (see package.json "exports")`);
    }
  };
}

/** A function with the real one's name that loads `module` and calls `module()[name]`. */
function forward<M, K extends keyof M & string>(module: () => M, name: K): M[K] {
  // A method under a computed key is named by it: no defineProperty for each of ~80 names at load.
  const holder = {
    [name](this: unknown, ...args: unknown[]): unknown {
      return Reflect.apply(module()[name] as (...args: unknown[]) => unknown, this, args);
    },
  };
  return holder[name] as M[K];
}

/** A stand-in for a class: `new`, `instanceof`, `extends` and static members reach the real class, loaded then. */
function forwardClass<M, K extends keyof M & string>(module: () => M, name: K): M[K] {
  const real = () => module()[name] as unknown as new (...args: unknown[]) => object;
  const standIn = { [name]: function () {} }[name]!;
  return new Proxy(standIn, {
    construct: (_target, args, newTarget) => Reflect.construct(real(), args, newTarget),
    get: (_target, key) => Reflect.get(real(), key),
    has: (_target, key) => Reflect.has(real(), key),
  }) as unknown as M[K];
}

const validate = onFirstUse<typeof ValidateModule>('./validate.js');
const http = onFirstUse<typeof HttpModule>('./frontends/http.js');
const fastcgi = onFirstUse<typeof FastCgiModule>('./frontends/fastcgi/index.js');
const records = onFirstUse<typeof RecordsModule>('./frontends/fastcgi/records.js');
const scgi = onFirstUse<typeof ScgiModule>('./frontends/scgi.js');
const listen = onFirstUse<typeof ListenModule>('./frontends/listen.js');
const fetch = onFirstUse<typeof FetchModule>('./frontends/fetch.js');
const cgiHostModule = onFirstUse<typeof CgiHostModule>('./apps/cgi-host.js');
const staticModule = onFirstUse<typeof StaticModule>('./apps/static.js');
const mountModule = onFirstUse<typeof MountModule>('./apps/mount.js');
const diagnostics = onFirstUse<typeof DiagnosticsModule>('./apps/diagnostics.js');
const cgitbModule = onFirstUse<typeof CgitbModule>('./debug/cgitb.js');
const fastcgiClient = onFirstUse<typeof FastCgiClientModule>('./gateways/fastcgi/index.js');
const php = onFirstUse<typeof PhpModule>('./apps/php/index.js');
const auth = onFirstUse<typeof AuthModule>('./apps/auth/index.js');
const testing = onFirstUse<typeof TestingModule>('./testing/index.js');

export const validator = forward(validate, 'validator');
export const ValidationError = forwardClass(validate, 'ValidationError');
export type ValidationError = ValidateModule.ValidationError;

export const makeServer = forward(http, 'makeServer');
export const createRequestListener = forward(http, 'createRequestListener');
export const decodePath = forward(http, 'decodePath');
export const addRequestHeaders = forward(http, 'addRequestHeaders');

export const listenFastCgi = forward(fastcgi, 'listenFastCgi');
export const createFastCgiServer = forward(fastcgi, 'createFastCgiServer');
export const FastCgiConnection = forwardClass(fastcgi, 'FastCgiConnection');
export type FastCgiConnection = FastCgiModule.FastCgiConnection;
export const RecordReader = forwardClass(records, 'RecordReader');
export type RecordReader = RecordsModule.RecordReader;
export const ProtocolError = forwardClass(records, 'ProtocolError');
export type ProtocolError = RecordsModule.ProtocolError;
export const encodeRecord = forward(records, 'encodeRecord');
export const encodeStream = forward(records, 'encodeStream');
export const encodeBeginRequest = forward(records, 'encodeBeginRequest');
export const encodeEndRequest = forward(records, 'encodeEndRequest');
export const encodeParams = forward(records, 'encodeParams');
export const decodeParams = forward(records, 'decodeParams');
export const listenScgi = forward(scgi, 'listenScgi');
export const createScgiServer = forward(scgi, 'createScgiServer');
export const parseScgiHeaders = forward(scgi, 'parseScgiHeaders');
export const GatewayServer = forwardClass(listen, 'GatewayServer');
export type GatewayServer = ListenModule.GatewayServer;
export const parseAddress = forward(listen, 'parseAddress');

export const toFetchHandler = forward(fetch, 'toFetchHandler');
export const fromFetchHandler = forward(fetch, 'fromFetchHandler');
export const fromNodeListener = forward(fetch, 'fromNodeListener');

export const FastCgiClient = forwardClass(fastcgiClient, 'FastCgiClient');
export type FastCgiClient = FastCgiClientModule.FastCgiClient;
export const FastCgiGatewayError = forwardClass(fastcgiClient, 'FastCgiGatewayError');
export type FastCgiGatewayError = FastCgiClientModule.FastCgiGatewayError;
export const FastCgiProcessManager = forwardClass(fastcgiClient, 'FastCgiProcessManager');
export type FastCgiProcessManager = FastCgiClientModule.FastCgiProcessManager;
export const fixedUpstream = forward(fastcgiClient, 'fixedUpstream');
export const fastcgiApp = forward(fastcgiClient, 'fastcgiApp');
export const phpApp = forward(php, 'phpApp');
export const findPhpCgi = forward(php, 'findPhpCgi');

export const cgiHost = forward(cgiHostModule, 'cgiHost');
export const cgiScript = forward(cgiHostModule, 'cgiScript');
export const scriptFilenameHost = forward(cgiHostModule, 'scriptFilenameHost');
export const cgiExtensions = forward(cgiHostModule, 'cgiExtensions');
export const basicAuth = forward(auth, 'basicAuth');
export const basicCredentials = forward(auth, 'basicCredentials');
export const HtpasswdFile = forwardClass(auth, 'HtpasswdFile');
export type HtpasswdFile = AuthModule.HtpasswdFile;
export const staticFiles = forward(staticModule, 'staticFiles');
export const mount = forward(mountModule, 'mount');

export const diagnosticsApp = forward(diagnostics, 'diagnosticsApp');
export const diagnosticsPage = forward(diagnostics, 'diagnosticsPage');
export const printEnviron = forward(diagnostics, 'printEnviron');
export const printForm = forward(diagnostics, 'printForm');
export const printDirectory = forward(diagnostics, 'printDirectory');
export const printArguments = forward(diagnostics, 'printArguments');
export const printEnvironUsage = forward(diagnostics, 'printEnvironUsage');
export const environHtml = forward(diagnostics, 'environHtml');
export const formHtml = forward(diagnostics, 'formHtml');
export const directoryHtml = forward(diagnostics, 'directoryHtml');
export const argumentsHtml = forward(diagnostics, 'argumentsHtml');
export const environUsageHtml = forward(diagnostics, 'environUsageHtml');
export const searchParamsForm = forward(diagnostics, 'searchParamsForm');
export const readRequestForm = forward(diagnostics, 'readRequestForm');
export const test = forward(diagnostics, 'test');

export const request = forward(testing, 'request');
export const TestClient = forwardClass(testing, 'TestClient');
export type TestClient = TestingModule.TestClient;
export const CookieJar = forwardClass(testing, 'CookieJar');
export type CookieJar = TestingModule.CookieJar;
export const multipartBody = forward(testing, 'multipartBody');
export const ResponseHeaders = forwardClass(testing, 'ResponseHeaders');
export type ResponseHeaders = TestingModule.ResponseHeaders;
export const ResponseHead = forwardClass(testing, 'ResponseHead');
export type ResponseHead = TestingModule.ResponseHead;
export const TestResponse = forwardClass(testing, 'TestResponse');
export type TestResponse = TestingModule.TestResponse;
export const StreamingResponse = forwardClass(testing, 'StreamingResponse');
export type StreamingResponse = TestingModule.StreamingResponse;
export const ResponseAbortedError = forwardClass(testing, 'ResponseAbortedError');
export type ResponseAbortedError = TestingModule.ResponseAbortedError;

/** `tsgi/cgitb` as one object (`cgitb.enable()`, as in Python). */
export const cgitb: Pick<typeof CgitbModule, 'enable' | 'handler' | 'html' | 'text' | 'escapeHtml' | 'debugMiddleware'> = Object.freeze({
  enable: forward(cgitbModule, 'enable'),
  handler: forward(cgitbModule, 'handler'),
  html: forward(cgitbModule, 'html'),
  text: forward(cgitbModule, 'text'),
  escapeHtml: forward(cgitbModule, 'escapeHtml'),
  debugMiddleware: forward(cgitbModule, 'debugMiddleware'),
});
export const debugMiddleware = cgitb.debugMiddleware;
