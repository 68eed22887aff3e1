/**
 * Which WebSocket server runs, and why, said in one line at start-up, on the page and in
 * `commons --version`. Native uWebSockets.js wherever a build of it loads:
 * - `uws-official` (uWebSockets.js 20.57: Node 20, 22, 24 and 25; needs glibc 2.38 or newer);
 * - `uws-node20` (20.30: Node 16, 18 and 20; loads on older glibc such as Debian 12's 2.36).
 * Elsewhere the portable `ws` server, never silently: `auto` warns with the cause and the fix,
 * `uws` refuses to start, `ws` chooses it knowingly.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Transport } from './transport.js';
import { uwsTransport, type UwsModule } from './uws-transport.js';
import { wsTransport } from './ws-transport.js';

export type ServerImplementation = 'auto' | 'uws' | 'ws';
export const SERVER_IMPLEMENTATIONS: readonly ServerImplementation[] = ['auto', 'uws', 'ws'];

export interface ServerChoice {
  readonly transport: Transport;
  /** e.g. "uWebSockets.js 20.57.0" or "ws 8.23.0". */
  readonly name: string;
  readonly native: boolean;
  /** The line the relay logs: `server: <name> (<native|portable>, node …, glibc …)` and why, when it matters. */
  readonly description: string;
  /** Set when a slower server runs than the operator asked for: the description names cause and fix. */
  readonly degraded: boolean;
}

const require = createRequire(import.meta.url);

/** "node 24.11.1, glibc 2.41" (or the libc Node reports none for, such as musl). */
export function runtimeDescription(): string {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  const libc = header?.glibcVersionRuntime
    ? `glibc ${header.glibcVersionRuntime}`
    : process.platform === 'linux'
      ? 'no glibc (musl?)'
      : process.platform;
  return `node ${process.versions.node}, ${libc}`;
}

interface Build {
  /** The npm alias in package.json. */
  readonly alias: string;
  /** Where its `uws_<platform>_<arch>_<abi>.node` files are, from the file its package resolves to. */
  readonly binaries: (main: string) => string;
  readonly packageJson: (main: string) => string;
}

const BUILDS: readonly Build[] = [
  { alias: 'uws-official', binaries: (main) => dirname(main), packageJson: (main) => join(dirname(main), 'package.json') },
  {
    alias: 'uws-node20',
    binaries: (main) => join(dirname(main), '../binaries'),
    packageJson: (main) => join(dirname(main), '../package.json'),
  },
];

const versionIn = (path: string): string => (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version.replace(/-.*$/, '');

/** Why a build did not load, in words an operator can act on. */
function problemOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const glibc = /version `GLIBC_([\d.]+)' not found/.exec(message);
  if (glibc) return `needs glibc ${glibc[1]} or newer`;
  return message.split('\n')[0]!.slice(0, 200);
}

export interface NativeLoad {
  readonly module?: UwsModule;
  readonly version?: string;
  /** One entry per build that did not load: "uws-official 20.57.0: needs glibc 2.38 or newer". */
  readonly problems: readonly string[];
}

let loaded: NativeLoad | undefined;

/** Loads the first uWebSockets.js build that works on this Node and libc (once per process). */
export function loadNativeUws(): NativeLoad {
  if (loaded) return loaded;
  const problems: string[] = [];
  const platform = `${process.platform}_${process.arch}`;
  for (const build of BUILDS) {
    let main: string;
    try {
      main = require.resolve(build.alias);
    } catch {
      problems.push(`${build.alias}: not installed`);
      continue;
    }
    const version = versionIn(build.packageJson(main));
    const directory = build.binaries(main);
    // The binary is loaded by file: the package's own loader of uws-node20 would fall back to a JavaScript imitation.
    const file = join(directory, `uws_${platform}_${process.versions.modules}.node`);
    if (!existsSync(file)) {
      const abis = readdirSync(directory).flatMap((name) =>
        name.startsWith(`uws_${platform}_`) ? [name.slice(`uws_${platform}_`.length, -'.node'.length)] : [],
      );
      problems.push(
        `${build.alias} ${version}: no build for Node ABI ${process.versions.modules} on ${platform} (it has ${abis.sort((a, b) => Number(a) - Number(b)).join(', ') || 'none'})`,
      );
      continue;
    }
    try {
      loaded = { module: require(file) as UwsModule, version, problems };
      return loaded;
    } catch (error) {
      problems.push(`${build.alias} ${version}: ${problemOf(error)}`);
    }
  }
  loaded = { problems };
  return loaded;
}

const NATIVE_RUNTIMES = 'run Node 20, or Node 22/24 on glibc 2.38 or newer (Debian 13, Ubuntu 24.04, the node:24-trixie-slim image)';

/** The server `implementation` asks for on this machine; throws (with the cause and fix) for `uws` when no native build loads. */
export function chooseServer(implementation: ServerImplementation, loadNative: () => NativeLoad = loadNativeUws): ServerChoice {
  const runtime = runtimeDescription();
  const wsName = `ws ${versionIn(require.resolve('ws/package.json'))}`;
  if (implementation === 'ws') {
    return {
      transport: wsTransport,
      name: wsName,
      native: false,
      degraded: false,
      description: `server: ${wsName} (portable, chosen by server.implementation, ${runtime})`,
    };
  }
  const native = loadNative();
  if (native.module) {
    const name = `uWebSockets.js ${native.version}`;
    return {
      transport: uwsTransport(native.module),
      name,
      native: true,
      degraded: false,
      description: `server: ${name} (native, ${runtime})`,
    };
  }
  const cause = `no native uWebSockets.js build loads here (${native.problems.join('; ')})`;
  if (implementation === 'uws') {
    throw new Error(
      `server.implementation is uws, but ${cause}. Fix: ${NATIVE_RUNTIMES}, or set server.implementation to auto or ws to accept the portable server.`,
    );
  }
  return {
    transport: wsTransport,
    name: wsName,
    native: false,
    degraded: true,
    description: `server: ${wsName} (portable, ${runtime}), slower than uWebSockets.js: ${cause}. Fix: ${NATIVE_RUNTIMES}; or set server.implementation: ws to run the portable server knowingly.`,
  };
}
