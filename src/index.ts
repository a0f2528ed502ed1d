// The package root re-exports every public name; subpaths let a CGI script load only what it needs.
export type * from './types.js';
export { Headers } from './headers.js';
export {
  isHopByHop, guessScheme, applicationUri, requestUri, shiftPathInfo, setupTestingDefaults, readBody, FileWrapper, stderrStream,
} from './util.js';
export { runApplication, HttpError, parseStatus, checkHeaders, REASONS } from './handler.js';
export type { ResponseTarget, ClientState, RunOptions } from './handler.js';
export { listenFastCgi, createFastCgiServer, type FastCgiOptions } from './frontends/fastcgi/index.js';
export { listenScgi, createScgiServer, type ScgiOptions } from './frontends/scgi.js';
export { GatewayServer, parseAddress, type ListenAddress } from './frontends/listen.js';
export { cgiHost, cgiScript, RAW_OUTPUT_KEY } from './apps/cgi-host.js';
export type { CgiHostOptions, CgiOptions, StderrSink, RawOutput, TakeOver } from './apps/cgi-host.js';
export { staticFiles } from './apps/static.js';
export type { StaticOptions } from './apps/static.js';
export { mount } from './apps/mount.js';
export { runCgi, cgiEnviron, stdinInput } from './frontends/cgi.js';
export type { RunCgiOptions } from './frontends/cgi.js';
export * as cgitb from './debug/cgitb.js';
export { debugMiddleware } from './debug/cgitb.js';
export type { CgitbOptions, ReportOptions } from './debug/cgitb.js';
export {
  diagnosticsApp, diagnosticsPage, printEnviron, printForm, printDirectory, printArguments, printEnvironUsage,
  environHtml, formHtml, directoryHtml, argumentsHtml, environUsageHtml, searchParamsForm, readRequestForm, CGI_VARIABLES,
} from './apps/diagnostics.js';
export type { FormView, FormItemView, FormReader, DiagnosticsOptions } from './apps/diagnostics.js';
export {
  FieldStorage, MiniFieldStorage, parse, parseMultipart, parseHeader, parseQs, parseQsl, unquote, unquotePlus,
  UrlencodedParser, MultipartParser, validBoundary, parsePartHeaders, UploadFile, FormError,
} from './form/index.js';
export type {
  FieldStorageOptions, FormItem, FieldValue, FormOptions, FormEnviron, ParsedForm, MultipartParams, HeaderParams,
  ParseHeaderOptions, UrlencodedOptions, UrlencodedParserOptions, MultipartHandlers, MultipartLimits, MultipartOptions,
  PartInfo, UploadFileOptions, FormErrorCode, DecodeErrors,
} from './form/index.js';
export { toFetchHandler, fromFetchHandler, fromNodeListener } from './frontends/fetch.js';
export type {
  FetchClientInfo, FetchHandler, FetchStyleHandler, FromFetchOptions, ToFetchOptions, NodeListener, TsgiIncomingMessage,
} from './frontends/fetch.js';
