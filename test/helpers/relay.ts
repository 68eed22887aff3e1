import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startRelay, type RelayOptions, type RunningRelay } from '../../src/app.js';
import { defaultConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface TestRelay extends RunningRelay {
  url: string;
  dbPath: string;
  config: Config;
  /** Stops the relay and removes its temporary directory. */
  cleanup(): Promise<void>;
}

function merge<T>(base: T, patch: DeepPartial<T> | undefined): T {
  if (patch === undefined) return base;
  const out = { ...base } as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    const current = out[key];
    out[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value) && current !== null && typeof current === 'object'
        ? merge(current, value as DeepPartial<typeof current>)
        : value;
  }
  return out as T;
}

/**
 * Every test connects from 127.0.0.1, many times per file: the per-IP connection limits are off here
 * unless a test sets them (`DEFAULT_CONNECTION_LIMITS` puts back the defaults).
 */
const NO_CONNECTION_LIMITS = { connections_per_ip: null, max_connections_per_ip: null } as const;

/** The per-IP connection limits of the default config, for a test of them. */
export const DEFAULT_CONNECTION_LIMITS: DeepPartial<Config['rate_limits']> = (({ connections_per_ip, max_connections_per_ip }) => ({
  connections_per_ip,
  max_connections_per_ip,
}))(defaultConfig().rate_limits);

/** The real relay on 127.0.0.1, port 0, with a fresh SQLite file in a temporary directory. */
export async function startTestRelay(overrides?: DeepPartial<Config>, options: RelayOptions = {}): Promise<TestRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'commons-test-'));
  const dbPath = join(dir, 'relay.sqlite');
  // COMMONS_SERVER=ws|uws runs the suite on one WebSocket server (as it does for `serve`); unset = auto.
  // COMMONS_THREADS=N runs it with N connection threads (server.threads).
  const server = {
    implementation: (process.env.COMMONS_SERVER || 'auto') as Config['server']['implementation'],
    threads: process.env.COMMONS_THREADS === 'auto' ? ('auto' as const) : Number(process.env.COMMONS_THREADS || 1),
  };
  const base: DeepPartial<Config> = {
    relay: { host: '127.0.0.1', port: 0 },
    server,
    storage: { path: dbPath },
    rate_limits: NO_CONNECTION_LIMITS,
  };
  const config = merge(defaultConfig(), merge<DeepPartial<Config>>(base, overrides)) as Config;
  const running = await startRelay(config, { logger: pino({ level: 'silent' }), ...options });
  return {
    ...running,
    url: running.localUrl,
    dbPath,
    config,
    cleanup: async () => {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
