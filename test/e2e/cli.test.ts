/**
 * The command line end to end: the real `node --import tsx src/main.ts <command>` processes, real
 * SQLite files in a temporary directory, real sockets. Covers --help, check-config, serve (bad config,
 * flags, environment), import / export (counts, order, filters, round trip) and logging.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from '../helpers/client.js';
import { freePort, REPO_ROOT, startCliRelay, type CliRelay } from '../helpers/cli.js';
import { newKeys, now, signed } from '../helpers/events.js';

/** Bound on any one CLI run or wait (tsx compiles on start-up). */
const TIMEOUT_MS = 20_000;
/** Tests that start a relay process and then run more commands. */
const LONG_TEST_MS = 90_000;

let dir: string;
let dbCount = 0;
/** A config that logs JSON at info level and changes nothing else. */
let jsonConfig: string;

const children: ChildProcess[] = [];
const clients: RawClient[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-cli-'));
  jsonConfig = writeFile('json.yaml', 'logging:\n  format: json\n  level: info\n');
});

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
  // Only the processes this file started, by their own handle.
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const freshDb = (): string => join(dir, `db-${++dbCount}`, 'relay.sqlite');

/** process.env without any COMMONS_* variable, plus `extra`: the test decides host, port and database. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('COMMONS_')) env[key] = value;
  return { ...env, ...extra };
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx src/main.ts …args` to completion (at most `timeoutMs`), with `input` on stdin. */
function runCli(args: string[], options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin!.on('error', () => {}); // a command that exits without reading stdin
  child.stdin!.end(options.input ?? '');
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  return new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`commons ${args.join(' ')}: still running after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close': the process has exited and its stdout / stderr have been read to the end.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A `serve` process started with arbitrary arguments and environment; stderr kept line by line. */
interface Served {
  child: ChildProcess;
  lines: string[];
  /** Resolves once the process has exited and its output has been read to the end. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnServe(args: string[], env: Record<string, string> = {}): Served {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', ...args], {
    cwd: REPO_ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let pending = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      lines.push(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  });
  child.stdout!.resume();
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      if (pending !== '') lines.push(pending);
      resolve({ code, signal });
    }),
  );
  return { child, lines, closed };
}

interface LogEntry {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** Every line parsed as JSON; fails (naming the line) if one is not a JSON object. */
function parseLog(lines: readonly string[]): LogEntry[] {
  return lines
    .filter((line) => line.trim() !== '')
    .map((line) => {
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        throw new Error(`log line is not JSON: ${line}\nall lines:\n${lines.join('\n')}`);
      }
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`log line is not a JSON object: ${line}`);
      return entry as LogEntry;
    });
}

/** Polls `lines` until one parses as a JSON log entry satisfying `predicate`. */
async function waitForLog(served: Served, predicate: (entry: LogEntry) => boolean, what: string, ms = TIMEOUT_MS): Promise<LogEntry> {
  const deadline = Date.now() + ms;
  for (;;) {
    for (const line of served.lines) {
      try {
        const entry = JSON.parse(line) as LogEntry;
        if (predicate(entry)) return entry;
      } catch {
        // not JSON: parseLog reports it where it matters
      }
    }
    if (served.child.exitCode !== null || served.child.signalCode !== null) {
      throw new Error(`${what}: the relay exited (${served.child.exitCode ?? served.child.signalCode}):\n${served.lines.join('\n')}`);
    }
    if (Date.now() > deadline) throw new Error(`${what}: not logged within ${ms} ms:\n${served.lines.join('\n')}`);
    await sleep(20);
  }
}

/** Waits until something accepts TCP connections on 127.0.0.1:port (for a relay that logs nothing at start). */
async function waitForPort(served: Served, port: number, ms = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = netConnect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (served.child.exitCode !== null || served.child.signalCode !== null) {
      throw new Error(`the relay exited before listening on ${port}:\n${served.lines.join('\n')}`);
    }
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} within ${ms} ms:\n${served.lines.join('\n')}`);
    await sleep(50);
  }
}

/** SIGTERM, then the exit (bounded). */
async function stop(served: {
  child: ChildProcess;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  served.child.kill('SIGTERM');
  return within(served.closed, TIMEOUT_MS, 'exit after SIGTERM');
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function connect(url: string): Promise<RawClient> {
  const client = await within(RawClient.connect(url), TIMEOUT_MS, `connect to ${url}`);
  client.socket.on('error', () => {});
  clients.push(client);
  return client;
}

/** Is something accepting TCP connections on 127.0.0.1:port right now? */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** An event whose signature does not verify (the id still matches the content). */
function badSignature(keys: ReturnType<typeof newKeys>, content: string): NostrEvent {
  const event = signed(keys, { content });
  const last = event.sig.slice(-1);
  return { ...event, sig: event.sig.slice(0, -1) + (last === '0' ? '1' : '0') };
}

/** Newest first, ties lowest id first (NIP-01's order for stored events). */
function newestFirst(events: readonly NostrEvent[]): NostrEvent[] {
  return [...events].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const jsonLines = (events: readonly NostrEvent[]): string => events.map((event) => `${JSON.stringify(event)}\n`).join('');

/** export --db `db` (plus `args`), expecting success; returns stdout. */
async function exportOk(db: string, ...args: string[]): Promise<string> {
  const run = await runCli(['export', '--db', db, ...args]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return run.stdout;
}

// ------------------------------------------------------------------------------------------------

describe('--help', () => {
  it('top level: exit 0 and lists every command', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    for (const usage of ['commons serve', 'commons check-config <file>', 'commons import', 'commons export']) {
      expect(run.stdout).toContain(usage);
    }
  });

  it.each([
    ['serve', 'commons serve', ['--config', '--db', '--host', '--port', '--log-level']],
    ['check-config', 'commons check-config <file>', []],
    ['import', 'commons import', ['--config', '--db']],
    ['export', 'commons export', ['--config', '--db', '--filter']],
  ])('%s --help: exit 0, usage of that command and its options', async (command, usage, options) => {
    const run = await runCli([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout.split('\n')[0]).toBe(usage);
    for (const option of options) expect(run.stdout).toContain(option);
    // Help of one command, not the list of all of them.
    expect(run.stdout).not.toContain('Commands:');
  });
});

describe('check-config', () => {
  it('config/relay.yaml: exit 0 and prints the effective config as YAML', async () => {
    const run = await runCli(['check-config', 'config/relay.yaml']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('config/relay.yaml is valid');
    const printed = parseYaml(run.stdout) as unknown;
    const expected = JSON.parse(JSON.stringify(loadConfig(join(REPO_ROOT, 'config/relay.yaml'), {}, {}))) as unknown;
    expect(printed).toEqual(expected);
  });

  it('the printed config has the environment applied', async () => {
    const run = await runCli(['check-config', 'config/relay.yaml'], {
      env: { COMMONS_PORT: '12345', COMMONS_DB: '/tmp/elsewhere.sqlite' },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const printed = parseYaml(run.stdout) as { relay: { port: number }; storage: { path: string } };
    expect(printed.relay.port).toBe(12345);
    expect(printed.storage.path).toBe('/tmp/elsewhere.sqlite');
  });

  it('unknown key, wrong type and out-of-range value: all three reported with file and dotted key, exit 2', async () => {
    const file = writeFile(
      'three-problems.yaml',
      ['relay:', '  port: "x"', 'limits:', '  max_limt: 10', '  max_subid_length: 100', ''].join('\n'),
    );
    const run = await runCli(['check-config', file]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    const lineFor = (key: string): string => {
      const found = lines.filter((line) => line.startsWith(`${file}: ${key}: `));
      expect(found, `one line for ${key} in:\n${run.stderr}`).toHaveLength(1);
      return found[0]!.slice(`${file}: ${key}: `.length);
    };
    expect(lineFor('relay.port')).toMatch(/integer/);
    expect(lineFor('limits.max_limt')).toMatch(/unknown key/);
    expect(lineFor('limits.max_limt')).toContain('limits.max_limit'); // the suggestion
    expect(lineFor('limits.max_subid_length')).toMatch(/64/);
    expect(lines).toHaveLength(3);
  });

  it('a missing file: exit 2 and the message names the file', async () => {
    const file = join(dir, 'does-not-exist.yaml');
    const run = await runCli(['check-config', file]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(file);
    expect(run.stderr).toMatch(/not found/);
  });

  it('COMMONS_PORT=abc: exit 2 and the error names COMMONS_PORT', async () => {
    const run = await runCli(['check-config', 'config/relay.yaml'], { env: { COMMONS_PORT: 'abc' } });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^environment: COMMONS_PORT: .*integer/m);
  });
});

describe('serve', () => {
  it('a bad config: exit 2 before listening or opening the database; the error names the file and the key', async () => {
    const file = writeFile('bad-serve.yaml', 'limits:\n  max_limit: -1\n');
    const port = await freePort();
    const db = freshDb();
    const served = spawnServe(['--config', file, '--port', String(port), '--db', db]);
    const exit = await within(served.closed, TIMEOUT_MS, 'exit on a bad config');
    expect(exit.code).toBe(2);
    const text = served.lines.join('\n');
    expect(text).toContain(`${file}: limits.max_limit: `);
    expect(text).not.toContain('relay listening');
    expect(existsSync(db)).toBe(false);
    expect(await isListening(port)).toBe(false);
  });

  it('--port and --db are used', { timeout: LONG_TEST_MS }, async () => {
    const port = await freePort();
    const db = freshDb();
    const relay: CliRelay = await startCliRelay({ config: jsonConfig, db, port, startTimeoutMs: TIMEOUT_MS });
    children.push(relay.child);
    expect(relay.url).toBe(`ws://127.0.0.1:${port}`);
    const client = await connect(`ws://127.0.0.1:${port}`);
    const event = signed(newKeys(), { content: 'flags' });
    expect((await client.publish(event))[2]).toBe(true);
    relay.child.kill('SIGTERM');
    expect((await relay.waitExit(TIMEOUT_MS)).code).toBe(0);
    expect(await exportOk(db)).toBe(jsonLines([event]));
  });

  it('COMMONS_PORT and COMMONS_DB are used when the flags are absent', { timeout: LONG_TEST_MS }, async () => {
    const port = await freePort();
    const db = freshDb();
    const served = spawnServe(['--config', jsonConfig], { COMMONS_PORT: String(port), COMMONS_DB: db });
    const listening = await waitForLog(served, (e) => e.msg === 'relay listening', 'relay listening');
    expect(listening.url).toBe(`ws://127.0.0.1:${port}`);
    expect(listening.db).toBe(db);
    const client = await connect(`ws://127.0.0.1:${port}`);
    const event = signed(newKeys(), { content: 'environment' });
    expect((await client.publish(event))[2]).toBe(true);
    expect((await stop(served)).code).toBe(0);
    expect(await exportOk(db)).toBe(jsonLines([event]));
  });

  it('flags win over COMMONS_PORT and COMMONS_DB', { timeout: LONG_TEST_MS }, async () => {
    const [envPort, flagPort] = [await freePort(), await freePort()];
    const [envDb, flagDb] = [freshDb(), freshDb()];
    const served = spawnServe(['--config', jsonConfig, '--port', String(flagPort), '--db', flagDb], {
      COMMONS_PORT: String(envPort),
      COMMONS_DB: envDb,
    });
    const listening = await waitForLog(served, (e) => e.msg === 'relay listening', 'relay listening');
    expect(listening.url).toBe(`ws://127.0.0.1:${flagPort}`);
    expect(listening.db).toBe(flagDb);
    expect(await isListening(envPort)).toBe(false);
    expect((await stop(served)).code).toBe(0);
    expect(existsSync(flagDb)).toBe(true);
    expect(existsSync(envDb)).toBe(false);
  });
});

describe('import and export', () => {
  const k1 = newKeys();
  const k2 = newKeys();
  const base = now() - 10_000;
  const n1 = signed(k1, { kind: 1, created_at: base + 1, content: 'first note' });
  const n2 = signed(k2, { kind: 1, created_at: base + 2, content: 'second note' });
  const n3 = signed(k1, { kind: 1, created_at: base + 2, content: 'same second as n2' });
  const profileNew = signed(k1, { kind: 0, created_at: base + 10, content: '{"name":"new"}' });
  const profileOld = signed(k1, { kind: 0, created_at: base + 5, content: '{"name":"old"}' });
  const profile2 = signed(k2, { kind: 0, created_at: base + 3, content: '{"name":"k2"}' });
  const ephemeral = signed(k1, { kind: 20001, created_at: base + 4, content: 'ephemeral' });
  const bad1 = badSignature(k2, 'bad signature one');
  const bad2 = badSignature(k1, 'bad signature two');

  const stored = newestFirst([n1, n2, n3, profileNew, profile2]);
  const input = [
    JSON.stringify(n1),
    JSON.stringify(n2),
    '',
    JSON.stringify(profileNew),
    JSON.stringify(n1), // duplicate line
    'this is not json',
    JSON.stringify(bad1),
    JSON.stringify(profileOld), // older version of a replaceable event already imported above
    JSON.stringify(ephemeral),
    JSON.stringify(n3),
    JSON.stringify(bad2),
    JSON.stringify(profile2),
    '',
  ].join('\n');

  let db: string;
  beforeAll(async () => {
    db = freshDb();
  });

  it('import reports exact counts; export prints exactly the stored events, newest first', { timeout: LONG_TEST_MS }, async () => {
    const run = await runCli(['import', '--db', db], { input });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual(['accepted: 5', 'duplicate: 1', 'skipped (ephemeral): 1', 'rejected: 4']);
    // Reasons grouped, most frequent first; the two single ones in either order.
    expect(lines[4]).toBe('  2  invalid: signature verification failed');
    expect(lines.slice(5, 7).sort()).toEqual(['  1  duplicate: a newer version is already stored', '  1  invalid: not a JSON object']);
    expect(lines.slice(7)).toEqual(['']);

    expect(await exportOk(db)).toBe(jsonLines(stored));
    expect(await exportOk(db, '--filter', '{"kinds":[0]}')).toBe(jsonLines([profileNew, profile2]));
    expect(await exportOk(db, '--filter', `{"authors":["${k2.pubkey}"],"kinds":[1]}`)).toBe(jsonLines([n2]));
  });

  it('importing the same lines again: everything already stored counts as duplicate', { timeout: LONG_TEST_MS }, async () => {
    const first = freshDb();
    const once = await runCli(['import', '--db', first], { input: jsonLines(stored) });
    expect(once.stdout).toBe('accepted: 5\nduplicate: 0\nskipped (ephemeral): 0\nrejected: 0\n');
    const again = await runCli(['import', '--db', first], { input: jsonLines(stored) });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('accepted: 0\nduplicate: 5\nskipped (ephemeral): 0\nrejected: 0\n');
    expect(await exportOk(first)).toBe(jsonLines(stored));
  });

  it('export --filter with bad input: non-zero exit and a message, nothing on stdout', async () => {
    const notJson = await runCli(['export', '--db', freshDb(), '--filter', 'not json']);
    expect(notJson.code).not.toBe(0);
    expect(notJson.code).not.toBeNull();
    expect(notJson.stdout).toBe('');
    expect(notJson.stderr).toMatch(/--filter.*JSON/);

    const badFilter = await runCli(['export', '--db', freshDb(), '--filter', '{"kinds":"x"}']);
    expect(badFilter.code).not.toBe(0);
    expect(badFilter.code).not.toBeNull();
    expect(badFilter.stdout).toBe('');
    expect(badFilter.stderr).toMatch(/--filter: .*kinds/);
  });

  it('round trip: export → import into a fresh database → export gives identical output', { timeout: LONG_TEST_MS }, async () => {
    const source = freshDb();
    await runCli(['import', '--db', source], { input });
    const exported = await exportOk(source);
    expect(exported.split('\n')).toHaveLength(stored.length + 1);

    const copy = freshDb();
    const imported = await runCli(['import', '--db', copy], { input: exported });
    expect(imported.code).toBe(0);
    expect(imported.stdout).toBe(`accepted: ${stored.length}\nduplicate: 0\nskipped (ephemeral): 0\nrejected: 0\n`);
    expect(await exportOk(copy)).toBe(exported);
  });
});

describe('logging', () => {
  /** Connects, publishes an event with a bad signature (OK false), disconnects; returns that event. */
  async function connectRejectDisconnect(port: number): Promise<NostrEvent> {
    const client = await connect(`ws://127.0.0.1:${port}`);
    const bad = badSignature(newKeys(), 'log me');
    const ok = await client.publish(bad);
    expect(ok).toEqual(['OK', bad.id, false, 'invalid: signature verification failed']);
    await within(client.close(), TIMEOUT_MS, 'client close');
    return bad;
  }

  it('--log-level debug: JSON lines for connection opened / closed and for a rejected event', { timeout: LONG_TEST_MS }, async () => {
    const port = await freePort();
    // config/relay.yaml as shipped: format auto (stderr is a pipe here → JSON), connections: debug, rejections: info.
    const served = spawnServe(['--config', 'config/relay.yaml', '--port', String(port), '--db', freshDb(), '--log-level', 'debug']);
    await waitForLog(served, (e) => e.msg === 'relay listening', 'relay listening');

    const bad = await connectRejectDisconnect(port);
    const opened = await waitForLog(served, (e) => e.msg === 'connection opened', 'connection opened');
    const closed = await waitForLog(served, (e) => e.msg === 'connection closed', 'connection closed');
    const rejected = await waitForLog(served, (e) => e.msg === 'rejected', 'rejected');
    expect(opened.level).toBe(20);
    expect(closed.level).toBe(20);
    expect(typeof opened.conn).toBe('number');
    expect(closed.conn).toBe(opened.conn);
    expect(opened.ip).toEqual(expect.any(String));
    expect(rejected.level).toBe(30);
    expect(rejected.conn).toBe(opened.conn);
    expect(rejected.id).toBe(bad.id);
    expect(rejected.reason).toBe('invalid: signature verification failed');

    expect((await stop(served)).code).toBe(0);
    parseLog(served.lines); // every line is JSON
  });

  it('logging.level warn: no connection or rejection lines', { timeout: LONG_TEST_MS }, async () => {
    const config = writeFile('warn.yaml', 'logging:\n  level: warn\n');
    const port = await freePort();
    const served = spawnServe(['--config', config, '--port', String(port), '--db', freshDb()]);
    await waitForPort(served, port);
    await connectRejectDisconnect(port);
    // The exit is the barrier: the relay closes every connection (and logs it) before it exits.
    expect((await stop(served)).code).toBe(0);
    const messages = parseLog(served.lines).map((entry) => entry.msg);
    expect(messages).not.toContain('connection opened');
    expect(messages).not.toContain('connection closed');
    expect(messages).not.toContain('rejected');
    expect(messages).not.toContain('relay listening'); // info
  });

  it('logging.connections / logging.rejections set the level of those lines', { timeout: LONG_TEST_MS }, async () => {
    const config = writeFile('levels.yaml', 'logging:\n  level: warn\n  connections: error\n  rejections: warn\n');
    const port = await freePort();
    const served = spawnServe(['--config', config, '--port', String(port), '--db', freshDb()]);
    await waitForPort(served, port);
    const bad = await connectRejectDisconnect(port);
    expect((await stop(served)).code).toBe(0);
    const log = parseLog(served.lines);
    // waitForPort's probe is a bare TCP connection, never a WebSocket: only our client is logged.
    expect(log.filter((e) => e.msg === 'connection opened').map((e) => e.level)).toEqual([50]);
    expect(log.filter((e) => e.msg === 'connection closed').map((e) => e.level)).toEqual([50]);
    const rejected = log.filter((e) => e.msg === 'rejected');
    expect(rejected.map((e) => [e.level, e.id, e.reason])).toEqual([[40, bad.id, 'invalid: signature verification failed']]);
  });
});
