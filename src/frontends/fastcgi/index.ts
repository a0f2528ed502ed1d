// tsgi/fastcgi: serve a TSGI application to web servers over FastCGI 1.0.
export { listenFastCgi, createFastCgiServer } from './server.js';
export { FastCgiConnection, type FastCgiOptions } from './connection.js';
export { GatewayServer, parseAddress, type ListenAddress } from '../listen.js';
export {
  RecordReader, encodeRecord, encodeStream, encodeBeginRequest, encodeEndRequest, encodeParams, decodeParams,
  RecordType, Role, ProtocolStatus, ProtocolError, FCGI_KEEP_CONN, MAX_CONTENT_LENGTH,
} from './records.js';
