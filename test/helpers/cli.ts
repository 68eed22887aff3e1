import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root (where src/main.ts lives). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A port that was free a moment ago (listen on 0, read the port, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliRelay {
  readonly child: ChildProcess;
  /** ws://host:port from the 'relay listening' log line. */
  readonly url: string;
  /** Every stderr line so far (JSON log lines). */
  readonly stderr: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** Waits at most `ms` for the exit; rejects (with the log) if the process is still running. */
  waitExit(ms: number): Promise<Exit>;
}

export interface CliOptions {
  config: string;
  /** --db; omitted: the config's storage.path. */
  db?: string;
  /** --port; omitted: the config's relay.port. */
  port?: number;
  /** --host; omitted: 127.0.0.1 when `db` or `port` is given, else the config's relay.host. */
  host?: string;
  /** How long to wait for 'relay listening' (ms). */
  startTimeoutMs?: number;
  /** Called with every stderr line as it comes (also kept in `stderr`). */
  onStderrLine?: (line: string) => void;
}

/**
 * Runs the real CLI (`node --import tsx src/main.ts serve …`) and waits for its JSON log line
 * `{"msg":"relay listening","url":…}` on stderr. COMMONS_* variables are removed from the child's
 * environment so the test decides host, port and database.
 */
export async function startCliRelay(options: CliOptions): Promise<CliRelay> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('COMMONS_')) env[key] = value;
  const args = ['--import', 'tsx', 'src/main.ts', 'serve', '--config', options.config];
  if (options.db !== undefined) args.push('--db', options.db);
  if (options.port !== undefined) args.push('--port', String(options.port));
  const flagsGiven = options.db !== undefined || options.port !== undefined;
  if (options.host !== undefined || flagsGiven) args.push('--host', options.host ?? '127.0.0.1');
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  let pending = '';
  let onListening: ((url: string) => void) | undefined;
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      stderr.push(line);
      options.onStderrLine?.(line);
      try {
        const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
        if (entry.msg === 'relay listening' && typeof entry.url === 'string') onListening?.(entry.url);
      } catch {
        // not a JSON line (e.g. a stack trace): kept in stderr for the failure message
      }
    }
  });
  child.stdout!.resume();

  const timeoutMs = options.startTimeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const url = await Promise.race([
      new Promise<string>((resolve) => (onListening = resolve)),
      exited.then((exit) => {
        throw new Error(`relay exited before listening (${JSON.stringify(exit)}):\n${stderr.join('\n')}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no 'relay listening' within ${timeoutMs} ms:\n${stderr.join('\n')}`)), timeoutMs);
      }),
    ]);
    return {
      child,
      url,
      stderr,
      exited,
      waitExit: (ms) => {
        let t: NodeJS.Timeout | undefined;
        return Promise.race([
          exited,
          new Promise<never>((_, reject) => {
            t = setTimeout(() => reject(new Error(`relay still running after ${ms} ms:\n${stderr.join('\n')}`)), ms);
          }),
        ]).finally(() => clearTimeout(t));
      },
    };
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
