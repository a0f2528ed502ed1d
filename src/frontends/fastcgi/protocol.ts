/**
 * The FastCGI 1.0 numbers a user of tsgi names: record types, roles, protocol statuses and
 * the limits. Apart from records.ts because the package root exports them and must load
 * them at once (constants cannot be loaded on first use), while the record code can wait.
 */

/** The largest content one record can carry (its length field is 16 bits). */
export const MAX_CONTENT_LENGTH = 0xffff;
/** BEGIN_REQUEST flag: the web server keeps the connection open after the request. */
export const FCGI_KEEP_CONN = 1;

export const RecordType = {
  BeginRequest: 1,
  AbortRequest: 2,
  EndRequest: 3,
  Params: 4,
  Stdin: 5,
  Stdout: 6,
  Stderr: 7,
  Data: 8,
  GetValues: 9,
  GetValuesResult: 10,
  UnknownType: 11,
} as const;

export const Role = { Responder: 1, Authorizer: 2, Filter: 3 } as const;

export const ProtocolStatus = { RequestComplete: 0, CantMpxConn: 1, Overloaded: 2, UnknownRole: 3 } as const;
