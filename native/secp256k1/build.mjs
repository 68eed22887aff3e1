/**
 * Builds the optional native verifier (verify.c against the system's libsecp256k1) during
 * `npm install` / `npm ci`. It never fails the install and never downloads anything: without the
 * library, a compiler or Node's headers on this machine, it prints one line and the relay uses the
 * WASM verifier (src/event/verify-native.ts decides at run time).
 *
 *   node native/secp256k1/build.mjs        (run by the `install` script of package.json)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fallback = (why) => {
  console.log(`commons: native libsecp256k1 verifier not built (${why}); the WASM verifier will be used.`);
  process.exit(0);
};

if (process.env.COMMONS_SKIP_NATIVE) fallback('COMMONS_SKIP_NATIVE is set');

// Node's own headers, from npm's nodedir or beside this node binary: node-gyp must not fetch them.
const prefix = resolve(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined);
if (!nodedir) fallback("no local Node headers (set npm's nodedir)");

const bundled = join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
const nodeGyp = [process.env.npm_config_node_gyp, bundled].find((path) => path && existsSync(path));
if (!nodeGyp) fallback('node-gyp not found');

const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`], {
  cwd: here,
  encoding: 'utf8',
  timeout: 180_000,
  env: { ...process.env, npm_config_nodedir: nodedir },
});
if (build.status !== 0) {
  const lines = `${build.stderr ?? ''}${build.error ? String(build.error) : ''}`.split('\n');
  const cause = lines.find((line) => /error|fatal|cannot find/i.test(line))?.trim() || `node-gyp exit ${build.status}`;
  fallback(cause.slice(0, 160));
}
console.log('commons: native libsecp256k1 verifier built.');
