import { after, before, describe } from 'node:test';
import { cgiHost } from '../../src/apps/cgi-host.js';
import { mount } from '../../src/apps/mount.js';
import { makeServer, type HttpServer } from '../../src/frontends/http.js';
import { sharedChecks } from '../helpers/fetch-checks.js';
import { fromRoot } from '../helpers/paths.js';
import { collectingErrors } from '../helpers/recording-target.js';

/**
 * The Hono and Express apps of test/helpers/fetch-apps.ts as CGI scripts
 * (test/fixtures/fetch/cgi-bin: runCgi over the adapters, checked by the validator), run one
 * process per request by tsgi's CGI host.
 */
describe('hono and express as CGI scripts run by the CGI host', () => {
  let server: HttpServer;
  before(async () => {
    const host = cgiHost({ root: fromRoot('test/fixtures/fetch/cgi-bin') });
    server = await makeServer('127.0.0.1', 0, mount([['/cgi-bin', host]]), { accessLog: false, errors: collectingErrors() });
  });
  after(() => server.close());
  for (const framework of ['hono', 'express'] as const) {
    describe(framework, () => sharedChecks(framework, () => `${server.url}/cgi-bin/${framework}.js`, `/cgi-bin/${framework}.js`));
  }
});
