// Builds the native addon (build/Release/wavenet.node) with node-gyp.
// Uses the Node headers installed beside node (e.g. /usr/include/node) so that nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function localNodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  // node's own prefix: <prefix>/bin/node -> <prefix>/include/node/node.h
  const prefix = dirname(dirname(process.execPath));
  for (const p of [prefix, '/usr', '/usr/local']) {
    if (existsSync(join(p, 'include', 'node', 'node_api.h'))) return p;
  }
  return null;
}

let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.error('wavenet: node-gyp is not installed; run `npm ci` first.');
  process.exit(1);
}
const args = [gyp, 'rebuild', `--jobs=${Math.max(1, os.cpus().length)}`];
const nodedir = localNodedir();
if (nodedir) args.push(`--nodedir=${nodedir}`);
else console.warn('wavenet: no local Node headers found; node-gyp may try to download them.');
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('wavenet: building the native addon failed (see the compiler output above). A C++17 compiler, make and python3 are required.');
  process.exit(r.status ?? 1);
}
