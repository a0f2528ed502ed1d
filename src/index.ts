// The package root re-exports every public name; subpaths let a CGI script load only what it needs.
export type * from './types.js';
export { Headers } from './headers.js';
export {
  isHopByHop, guessScheme, applicationUri, requestUri, shiftPathInfo, setupTestingDefaults, readBody, FileWrapper, stderrStream,
} from './util.js';
export { runApplication, HttpError, parseStatus, checkHeaders, REASONS } from './handler.js';
export type { ResponseTarget, ClientState, RunOptions } from './handler.js';
export { toFetchHandler, fromFetchHandler, fromNodeListener } from './frontends/fetch.js';
export type {
  FetchClientInfo, FetchHandler, FetchStyleHandler, FromFetchOptions, ToFetchOptions, NodeListener, TsgiIncomingMessage,
} from './frontends/fetch.js';
