/** The TypeScript CGI hello script the CGI-script benchmarks time, and the request it gets: one of each for all of them. */
export const HELLO_TS = `import { runCgi } from 'tsgi/cgi';
import type { Application } from 'tsgi/types';

const app: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [\`hello \${environ.QUERY_STRING}\\n\`];
};
runCgi(app);
`;

/** The CGI environment of a GET for the hello script, without the server's NODE_EXTRA_CA_CERTS (Node would load it on every run). */
export function helloEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    REQUEST_METHOD: 'GET', QUERY_STRING: 'name=bench', SCRIPT_NAME: '/cgi-bin/hello', PATH_INFO: '',
    SERVER_NAME: 'localhost', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1', GATEWAY_INTERFACE: 'CGI/1.1',
  };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}
