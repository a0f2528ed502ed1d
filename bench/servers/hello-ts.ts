/** The TypeScript CGI hello script the CGI-script benchmarks time, one text for all of them. */
export const HELLO_TS = `import { runCgi } from 'tsgi/cgi';
import type { Application } from 'tsgi/types';

const app: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [\`hello \${environ.QUERY_STRING}\\n\`];
};
runCgi(app);
`;
