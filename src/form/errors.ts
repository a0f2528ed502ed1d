/** What went wrong with a form body, as a machine-readable code. */
export type FormErrorCode =
  | 'MALFORMED'        // the body does not follow its format
  | 'BAD_FIELD'        // strictParsing refused a query field
  | 'BAD_ENCODING'     // errors: 'strict' and the bytes are not in the charset
  | 'BAD_BOUNDARY'     // missing or invalid multipart boundary
  | 'TOO_MANY_FIELDS'  // maxNumFields
  | 'FIELD_TOO_LARGE'  // maxFieldSize / maxFieldsSize
  | 'FILE_TOO_LARGE'   // maxFileSize
  | 'HEADER_TOO_LARGE' // maxHeaderSize of a part's header block
  | 'BODY_TOO_LARGE'   // maxBodySize (Python's maxlen)
  | 'TRUNCATED';       // the body ended before CONTENT_LENGTH bytes

/**
 * A form that cannot be parsed. `status` is the HTTP status a server should answer with:
 * 413 for a limit, 400 for everything else.
 */
export class FormError extends Error {
  override name = 'FormError';
  readonly code: FormErrorCode;
  readonly status: 400 | 413;

  constructor(code: FormErrorCode, message: string) {
    super(message);
    this.code = code;
    this.status = code === 'TOO_MANY_FIELDS' || code.endsWith('_TOO_LARGE') ? 413 : 400;
  }
}
