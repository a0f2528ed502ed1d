import { after, before, describe } from 'node:test';
import { makeServer, type HttpServer } from '../../src/frontends/http.js';
import { validator } from '../../src/validate.js';
import { frameworkApps, sharedChecks } from '../helpers/fetch-checks.js';
import { collectingErrors } from '../helpers/recording-target.js';

/**
 * A Hono app (through fromFetchHandler) and an Express app (through fromNodeListener), the
 * two small services of test/helpers/fetch-apps.ts, served by tsgi's HTTP front end. The same
 * checks run them as CGI scripts (fetch-cgi.test.ts) and over FastCGI (fetch-fastcgi.test.ts).
 */

for (const framework of ['hono', 'express'] as const) {
  describe(`${framework} served by tsgi over HTTP`, () => {
    let server: HttpServer;
    const app = validator(frameworkApps[framework]());
    before(async () => {
      server = await makeServer('127.0.0.1', 0, app, { accessLog: false, errors: collectingErrors() });
    });
    after(async () => {
      await server.close();
      app.assertClean();
    });
    sharedChecks(framework, () => server.url, '');
  });
}
