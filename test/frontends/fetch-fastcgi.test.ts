import { after, before, describe } from 'node:test';
import { listenFastCgi } from '../../src/frontends/fastcgi/index.js';
import type { GatewayServer } from '../../src/frontends/listen.js';
import { validator } from '../../src/validate.js';
import { startNginx, type Peer } from '../helpers/fastcgi-peers.js';
import { frameworkApps, sharedChecks } from '../helpers/fetch-checks.js';
import { collectingErrors } from '../helpers/recording-target.js';

/** The Hono and Express apps of test/helpers/fetch-apps.ts over FastCGI, behind a real nginx. */
describe('hono and express over FastCGI behind nginx', () => {
  let nginx: Peer;
  const servers: GatewayServer[] = [];
  const apps = { hono: validator(frameworkApps.hono()), express: validator(frameworkApps.express()) };
  const quiet = { log: () => {}, errors: collectingErrors() };
  before(async () => {
    const ports: Record<string, number> = {};
    for (const framework of ['hono', 'express'] as const) {
      // nginx's stock params send the whole path as SCRIPT_NAME; scriptName remounts the app at its prefix.
      const server = await listenFastCgi('127.0.0.1:0', apps[framework], { ...quiet, scriptName: `/${framework}` });
      servers.push(server);
      ports[framework] = server.port;
    }
    nginx = await startNginx(['hono', 'express'].map((framework) => `
    location /${framework}/ {
      include /etc/nginx/fastcgi_params;
      fastcgi_request_buffering off;
      fastcgi_pass 127.0.0.1:${ports[framework]};
    }`).join('\n'));
  });
  after(async () => {
    await nginx?.stop();
    await Promise.all(servers.map((server) => server.close(500)));
    apps.hono.assertClean();
    apps.express.assertClean();
  });
  for (const framework of ['hono', 'express'] as const) {
    describe(framework, () => sharedChecks(framework, () => `http://127.0.0.1:${nginx.port}/${framework}`, `/${framework}`));
  }
});
