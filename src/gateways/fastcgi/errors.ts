/** Why a request to a FastCGI responder got no answer, with the HTTP status a gateway gives for it. */
export class FastCgiGatewayError extends Error {
  /** 502: refused, broke the protocol or hung up; 503: said it is overloaded; 504: too slow. */
  readonly status: 502 | 503 | 504;

  constructor(status: 502 | 503 | 504, message: string) {
    super(message);
    this.name = 'FastCgiGatewayError';
    this.status = status;
  }
}
