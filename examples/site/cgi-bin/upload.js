#!/usr/bin/env node
// The upload report, as a CGI script. The program is examples/cgi/upload.ts; `npm run build` compiles it.
import { runCgi } from '../../../dist/src/frontends/cgi.js';
import { upload } from '../../../dist/examples/cgi/upload.js';

await runCgi(upload);
