/** `tsgi/auth`: HTTP Basic authentication in front of any application, against Apache htpasswd files. */
export { basicAuth, basicCredentials } from './basic-auth.js';
export type { AuthArea, PasswordCheck } from './basic-auth.js';
export { HtpasswdFile } from './htpasswd.js';
export type { HtpasswdProblem } from './htpasswd.js';
