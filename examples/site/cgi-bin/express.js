#!/usr/bin/env node
// An Express app as a CGI script. The app is examples/frameworks/express-app.ts; `npm run build` compiles it.
import { runCgi } from '../../../dist/src/frontends/cgi.js';
import { fromNodeListener } from '../../../dist/src/frontends/fetch.js';
import { app } from '../../../dist/examples/frameworks/express-app.js';

await runCgi(fromNodeListener(app));
