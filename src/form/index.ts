// tsgi/form: Python's cgi form parsing. Imports nothing heavy: a CGI script pays for it on every request.
export { FieldStorage, MiniFieldStorage } from './field-storage.js';
export type { FieldStorageOptions, FormItem, FieldValue, FormOptions, FormEnviron } from './field-storage.js';
export { parse, parseMultipart } from './field-storage.js';
export type { ParsedForm, MultipartParams } from './field-storage.js';
export { parseHeader } from './header.js';
export type { HeaderParams, ParseHeaderOptions } from './header.js';
export { parseQs, parseQsl, unquote, unquotePlus, UrlencodedParser } from './urlencoded.js';
export type { UrlencodedOptions, UrlencodedParserOptions } from './urlencoded.js';
export { MultipartParser, validBoundary, parsePartHeaders } from './multipart.js';
export type { MultipartHandlers, MultipartLimits, MultipartOptions, PartInfo } from './multipart.js';
export { UploadFile } from './upload-file.js';
export type { UploadFileOptions } from './upload-file.js';
export { FormError } from './errors.js';
export type { FormErrorCode } from './errors.js';
export type { DecodeErrors } from './charset.js';
