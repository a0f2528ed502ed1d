#!/usr/bin/env node
// A Hono app as a CGI script. The app is examples/frameworks/hono-app.ts; `npm run build` compiles it.
import { runCgi } from '../../../dist/src/frontends/cgi.js';
import { fromFetchHandler } from '../../../dist/src/frontends/fetch.js';
import { app } from '../../../dist/examples/frameworks/hono-app.js';

await runCgi(fromFetchHandler(app.fetch));
