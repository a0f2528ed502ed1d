#!/usr/bin/env node
// The environment exercise, as a CGI script. The program is examples/cgi/environment.ts; `npm run build` compiles it.
import { runCgi } from '../../../dist/src/frontends/cgi.js';
import { environment } from '../../../dist/examples/cgi/environment.js';

await runCgi(environment);
