/**
 * tsgi/testing: an in-process test client for TSGI applications (werkzeug's test client,
 * Go's httptest). Requests run through the real response engine and the validator, with
 * the environ the HTTP front end would build, and no socket.
 */
export { request } from './request.js';
export { TestClient } from './client.js';
export type { ClientOptions, MethodCall, MethodOptions } from './client.js';
export { CookieJar } from './cookie-jar.js';
export type { Cookie } from './cookie-jar.js';
export { multipartBody } from './multipart-body.js';
export type { EncodedBody, FileFields, FormFields, UploadedFile } from './multipart-body.js';
export { ResponseHeaders } from './response-headers.js';
export { ResponseHead, TestResponse, StreamingResponse, ResponseAbortedError } from './response.js';
export type { ConnectionOptions, RequestHeadersInit, RequestOptions } from './options.js';
export type { RequestBodyInit } from './request-body.js';
export type { QueryInit } from './request-target.js';
