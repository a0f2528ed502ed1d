#!/usr/bin/env node
// Python's cgi.test() page as a CGI script: directory, arguments, form and environment.
// It shows the whole environment: fine for a demo, never for a public site.
import { runCgi } from '../../../dist/src/frontends/cgi.js';
import { diagnosticsApp } from '../../../dist/src/apps/diagnostics.js';

await runCgi(diagnosticsApp());
