/**
 * The WebSocket server a real `serve` process runs, and that it says so: the log line at start-up,
 * `commons --version` and the page. Native uWebSockets.js where a build loads (Node 20 here, and
 * Node 22/24 on glibc 2.38+), else the portable `ws` server with one warning line; `uws` refuses to
 * start without a native build. The same protocol tests run on both (.ci/run: Node 24 here runs `ws`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeUws } from '../../src/server/choose.js';
import { RawClient } from '../helpers/client.js';
import { freePort, startCliRelay, type CliRelay } from '../helpers/cli.js';
import { newKeys, signed } from '../helpers/events.js';
import { runCommand } from '../helpers/run-cli.js';

const TIMEOUT_MS = 20_000;
const native = loadNativeUws().module !== undefined;

let dir: string;
const relays: CliRelay[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-server-'));
});
afterEach(() => {
  for (const relay of relays.splice(0)) if (relay.child.exitCode === null) relay.child.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(implementation: string): string {
  const path = join(dir, `${implementation}.yaml`);
  writeFileSync(path, `server:\n  implementation: ${implementation}\nlogging:\n  format: json\n  level: info\n`);
  return path;
}

async function serve(implementation: string): Promise<CliRelay> {
  const relay = await startCliRelay({
    config: configFile(implementation),
    db: join(dir, `${implementation}.sqlite`),
    port: await freePort(),
    startTimeoutMs: TIMEOUT_MS,
  });
  relays.push(relay);
  return relay;
}

/** The one log line naming the server (pino JSON: level 30 info, 40 warn). */
function serverLine(relay: CliRelay): { level: number; msg: string } {
  const lines = relay.stderr.flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { level: number; msg: string };
      return entry.msg.startsWith('server: ') ? [entry] : [];
    } catch {
      return [];
    }
  });
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

/** The relay answers NIP-01 and NIP-11 and stops cleanly on SIGTERM. */
async function expectWorking(relay: CliRelay, serverName: RegExp): Promise<void> {
  const client = await RawClient.connect(relay.url);
  const event = signed(newKeys(), { content: 'which server?' });
  expect((await client.publish(event))[2]).toBe(true);
  expect((await client.req('x', { ids: [event.id] })).events.map((e) => e.id)).toEqual([event.id]);
  await client.close();
  const http = relay.url.replace('ws://', 'http://');
  const info = (await (await fetch(http, { headers: { accept: 'application/nostr+json' } })).json()) as { supported_nips: number[] };
  expect(info.supported_nips).toContain(1);
  const page = await (await fetch(http)).text();
  expect(page).toMatch(serverName);
  relay.child.kill('SIGTERM');
  expect((await relay.waitExit(TIMEOUT_MS)).code).toBe(0);
}

describe('server.implementation', () => {
  it('ws: the portable server, named in one info line and on the page', async () => {
    const relay = await serve('ws');
    const line = serverLine(relay);
    expect(line.level).toBe(30);
    expect(line.msg).toMatch(/^server: ws \d+\.\d+\.\d+ \(portable, chosen by server\.implementation, node \d+/);
    await expectWorking(relay, /<span id="server">commons [\d.]+, ws \d+\.\d+\.\d+, Node /);
  });

  it('auto: native uWebSockets.js when a build loads, else ws with one warning that names the cause and the fix', async () => {
    const relay = await serve('auto');
    const line = serverLine(relay);
    if (native) {
      expect(line.level).toBe(30);
      expect(line.msg).toMatch(/^server: uWebSockets\.js 20\.\d+\.\d+ \(native, node \d+\.\d+\.\d+, /);
      await expectWorking(relay, /<span id="server">commons [\d.]+, uWebSockets\.js 20\.\d+\.\d+, Node /);
    } else {
      expect(line.level).toBe(40);
      expect(line.msg).toMatch(
        /^server: ws \d+\.\d+\.\d+ \(portable, node .*\), slower than uWebSockets\.js: no native uWebSockets\.js build loads here \(.+\)\. Fix: run Node 20, /,
      );
      await expectWorking(relay, /<span id="server">commons [\d.]+, ws \d+\.\d+\.\d+, Node /);
    }
  });

  it('uws: native, or the relay refuses to start and says why', async () => {
    if (native) {
      const relay = await serve('uws');
      expect(serverLine(relay).msg).toMatch(/^server: uWebSockets\.js /);
      await expectWorking(relay, /uWebSockets\.js/);
    } else {
      await expect(serve('uws')).rejects.toThrow(
        /relay exited before listening[\s\S]*server\.implementation is uws, but no native uWebSockets\.js build loads here/,
      );
    }
  });

  it('commons --version names the version, the server auto would run and the SQLite binding', async () => {
    const run = await runCommand(['--version'], '', TIMEOUT_MS);
    expect(run.code).toBe(0);
    const [version, server, sqlite] = run.stdout.trim().split('\n');
    expect(version).toMatch(/^commons \d+\.\d+\.\d+$/);
    expect(server).toMatch(native ? /^server: uWebSockets\.js 20\.\d+\.\d+ \(native, / : /^server: ws [\d.]+ \(portable, .*Fix: /);
    expect(sqlite).toMatch(/^sqlite: better-sqlite3 1[23]\.\d+\.\d+ \(SQLite 3\.\d+\.\d+\)$/);
  });
});
