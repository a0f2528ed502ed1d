// npm's install step: builds the native CGI launcher (native/*.c, binding.gyp) with node-gyp.
// Without a C compiler, or off Linux, the build fails and tsgi starts scripts through its
// other launchers, so a failure here is reported and does not fail the install.
// npm hides a dependency's install output unless it fails, and this script never fails: the
// outcome is also written to build/native-build.log, which tsgi names when the addon is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const logFile = join(root, 'build', 'native-build.log');

/** Says it on stdout and keeps it, with the build's own output, in the log. */
function finish(message, output = '') {
  console.log(message);
  mkdirSync(dirname(logFile), { recursive: true });
  writeFileSync(logFile, `${new Date().toISOString()} ${message}\n${output}`);
  process.exit(0);
}

if (process.platform !== 'linux') {
  finish('tsgi: the native CGI launcher is for Linux; scripts will be started by the Python helper or by Node');
}
// npm tells its scripts where its own node-gyp is; outside npm, look beside npm.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((file) => file && existsSync(file));
if (candidates.length === 0) {
  finish('tsgi: node-gyp not found; the native CGI launcher was not built');
}
const result = spawnSync(process.execPath, [candidates[0], 'rebuild'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const output = (result.stdout ?? '') + (result.stderr ?? '');
process.stdout.write(output);
if (result.status !== 0) {
  finish('tsgi: the native CGI launcher could not be built (see above); scripts will be started by the Python helper or by Node', output);
}
finish('tsgi: the native CGI launcher was built', output);
