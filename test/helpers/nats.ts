/**
 * A real NATS server with JetStream (Debian's nats-server) for cluster tests: one process on a free
 * loopback port with its own store directory, which can be stopped and started again on the same port
 * and directory (a NATS outage), or killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cli.js';

export const NATS_SERVER = '/usr/sbin/nats-server';
export const hasNatsServer = existsSync(NATS_SERVER);
/** Under CI (.ci/run installs nats-server) a missing server fails the cluster tests instead of skipping them. */
export const natsRequired = process.env.CI === 'true';
export const NATS_MISSING = `${NATS_SERVER} is missing (apt-get install -y nats-server)`;

const READY_LINE = 'Server is ready';

export interface NatsServer {
  /** nats://127.0.0.1:port — the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory (-sd), kept across restarts. */
  readonly storeDir: string;
  /** Every output line of every run so far. */
  readonly log: string[];
  /** Whether a server process is running now. */
  running(): boolean;
  /** Starts it again on the same port and store directory; resolves when it says it is ready. */
  start(): Promise<void>;
  /** SIGTERM; resolves when the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL; resolves when the process has exited. */
  kill(): Promise<void>;
  /** Kills it if running and removes the store directory. */
  dispose(): Promise<void>;
}

/** Starts `nats-server -js` on a free 127.0.0.1 port; resolves once it logs that it is ready. */
export async function startNatsServer(options: { readyTimeoutMs?: number; exitTimeoutMs?: number } = {}): Promise<NatsServer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const exitTimeoutMs = options.exitTimeoutMs ?? 20_000;
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'commons-nats-'));
  const log: string[] = [];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const isRunning = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  async function start(): Promise<void> {
    if (isRunning()) throw new Error(`nats-server on port ${port} is already running`);
    const server = spawn(NATS_SERVER, ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = server;
    exited = new Promise((resolve) => server.once('exit', () => resolve()));
    let onReady: (() => void) | undefined;
    let pending = '';
    const onData = (chunk: string): void => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        log.push(line);
        if (line.includes(READY_LINE)) onReady?.();
      }
    };
    server.stdout!.setEncoding('utf8').on('data', onData);
    server.stderr!.setEncoding('utf8').on('data', onData);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => (onReady = resolve)),
        exited.then(() => {
          throw new Error(`nats-server exited before it was ready:\n${log.join('\n')}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`nats-server not ready within ${readyTimeoutMs} ms:\n${log.join('\n')}`)),
            readyTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      if (isRunning()) server.kill('SIGKILL');
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async function end(signal: NodeJS.Signals): Promise<void> {
    if (!isRunning()) return;
    child!.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`nats-server still running ${exitTimeoutMs} ms after ${signal}`)), exitTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    log,
    running: isRunning,
    start,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    dispose: async () => {
      await end('SIGKILL');
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
