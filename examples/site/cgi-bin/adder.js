#!/usr/bin/env node
// The adding machine, as a CGI script. The program is examples/cgi/adder.ts; `npm run build` compiles it.
import { runCgi } from '../../../dist/src/frontends/cgi.js';
import { adder } from '../../../dist/examples/cgi/adder.js';

await runCgi(adder);
