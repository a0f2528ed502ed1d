// tsgi/fastcgi-client: tsgi as the web server's side of FastCGI — the client, the process
// manager that starts FastCGI children, and fastcgiApp, the Application that forwards to them.
export { FastCgiClient } from './client.js';
export type { FastCgiClientOptions, FastCgiRequest, FastCgiResponse } from './client.js';
export { FastCgiGatewayError } from './errors.js';
export { FastCgiProcessManager } from './process-manager.js';
export type { ProcessManagerOptions, ChildProgram } from './process-manager.js';
export { fixedUpstream } from '../fixed-upstream.js';
export type { Lease, Upstream } from '../upstream.js';
export type { CancelSignal } from '../cancel.js';
export type { ScriptLocation } from '../cgi-variables.js';
export { fastcgiApp } from '../../apps/fastcgi.js';
export type { FastCgiAppOptions, ForwardingApplication } from '../../apps/fastcgi.js';
