// npm's install step: builds the native CGI launcher (native/*.c, binding.gyp) with node-gyp.
// Without a C compiler, or off Linux, the build fails and tsgi starts scripts through its
// other launchers, so a failure here is reported and does not fail the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

if (process.platform !== 'linux') {
  console.log('tsgi: the native CGI launcher is for Linux; scripts will be started by the Python helper or by Node');
  process.exit(0);
}
// npm tells its scripts where its own node-gyp is; outside npm, look beside npm.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((file) => file && existsSync(file));
if (candidates.length === 0) {
  console.log('tsgi: node-gyp not found; the native CGI launcher was not built');
  process.exit(0);
}
const result = spawnSync(process.execPath, [candidates[0], 'rebuild'], { stdio: 'inherit' });
if (result.status !== 0) {
  console.log('tsgi: the native CGI launcher could not be built (see above); scripts will be started by the Python helper or by Node');
}
