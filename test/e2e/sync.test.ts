/**
 * `commons sync` between two instances of our relay: NIP-77 negentropy both ways, and the paged-REQ
 * fallback against a relay with negentropy disabled. The CLI runs as a real process on relay one's
 * database file while that relay is serving.
 */
import { spawn } from 'node:child_process';
import { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/client.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { newKeys, now, signed, type Keys } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

function runSync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('COMMONS_')) env[key] = value;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'sync', ...args, '--config', 'config/relay.yaml'], {
    cwd: REPO_ROOT,
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

async function publishAll(relay: TestRelay, events: { id: string }[]): Promise<void> {
  const client = await RawClient.connect(relay.url);
  try {
    for (const event of events) expect((await client.publish(event))[2]).toBe(true);
  } finally {
    await client.close();
  }
}

async function idsOn(relay: TestRelay, keys: Keys): Promise<Set<string>> {
  const client = await RawClient.connect(relay.url);
  try {
    const { events } = await client.req('ids', { authors: [keys.pubkey], limit: 500 });
    return new Set(events.map((e) => e.id as string));
  } finally {
    await client.close();
  }
}

describe('sync CLI between two relays', () => {
  let one: TestRelay;
  let two: TestRelay;
  let off: TestRelay;
  const keys = newKeys();
  const t = now() - 10_000;
  // created_at repeats every 7 events, so pages and ranges cut through equal timestamps.
  const make = (label: string, n: number) =>
    Array.from({ length: n }, (_, i) => signed(keys, { created_at: t + (i % 7), content: `${label} ${i}` }));
  const onlyOne = make('one', 30);
  const onlyTwo = make('two', 20);
  const both = make('both', 10);

  beforeAll(async () => {
    [one, two, off] = await Promise.all([startTestRelay(), startTestRelay(), startTestRelay({ negentropy: { enabled: false } })]);
    await publishAll(one, [...onlyOne, ...both]);
    await publishAll(two, [...onlyTwo, ...both]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([one?.cleanup(), two?.cleanup(), off?.cleanup()]);
  });

  it('--direction both: negentropy finds need/have; afterwards both relays hold the union', async () => {
    const result = await runSync([
      two.url,
      '--db',
      one.dbPath,
      '--direction',
      'both',
      '--filter',
      JSON.stringify({ authors: [keys.pubkey] }),
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('method: negentropy');
    expect(result.stdout).toContain('need: 20');
    expect(result.stdout).toContain('have: 30');
    expect(result.stdout).toMatch(/down:\n {2}accepted: 20\n/);
    expect(result.stdout).toMatch(/up:\n {2}accepted: 30\n/);
    const union = new Set([...onlyOne, ...onlyTwo, ...both].map((e) => e.id));
    expect(await idsOn(one, keys)).toEqual(union);
    expect(await idsOn(two, keys)).toEqual(union);

    const again = await runSync([two.url, '--db', one.dbPath, '--direction', 'both']);
    expect(again.stdout).toContain('need: 0');
    expect(again.stdout).toContain('have: 0');
  }, 30_000);

  it('falls back to paged REQs (and EVENT for up) when the remote answers NEG-ERR', async () => {
    const otherKeys = newKeys();
    const remoteOnly = Array.from({ length: 23 }, (_, i) => signed(otherKeys, { created_at: t + (i % 5), content: `off ${i}` }));
    await publishAll(off, remoteOnly);
    const result = await runSync([
      off.url,
      '--db',
      one.dbPath,
      '--direction',
      'both',
      '--chunk',
      '6',
      '--filter',
      JSON.stringify({ authors: [otherKeys.pubkey, keys.pubkey] }),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('method: paged REQ (NEG-ERR: unsupported: negentropy is disabled on this relay)');
    expect(result.stdout).toMatch(/down:\n {2}accepted: 23\n/);
    expect(result.stdout).toMatch(/up:\n {2}accepted: 60\n {2}duplicate: 23\n/);
    expect(await idsOn(one, otherKeys)).toEqual(new Set(remoteOnly.map((e) => e.id)));
    expect((await idsOn(off, keys)).size).toBe(60);
  }, 30_000);

  for (const mode of ['notice', 'silent'] as const) {
    it(`falls back when the remote answers NEG-OPEN with ${mode === 'notice' ? 'a NOTICE' : 'nothing (timeout)'}`, async () => {
      // A relay without NIP-77: serves one stored event to REQs, ignores or NOTICEs everything else.
      const stored = signed(newKeys(), { content: `fake ${mode}` });
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise((resolve) => server.once('listening', resolve));
      server.on('connection', (socket) => {
        socket.on('message', (data) => {
          const [verb, subId, filter] = JSON.parse(data.toString()) as [string, string, { until?: number }];
          if (verb === 'REQ') {
            if (filter.until === undefined || filter.until >= stored.created_at) socket.send(JSON.stringify(['EVENT', subId, stored]));
            socket.send(JSON.stringify(['EOSE', subId]));
          } else if (verb === 'NEG-OPEN' && mode === 'notice') {
            socket.send(JSON.stringify(['NOTICE', 'ERROR: bad msg: unknown cmd']));
          }
        });
      });
      try {
        const port = (server.address() as { port: number }).port;
        // Only the silent relay needs the short NEG-OPEN timeout; the NOTICE must end the wait by itself.
        const timeout = mode === 'silent' ? ['--timeout', '1'] : [];
        const result = await runSync([
          `ws://127.0.0.1:${port}`,
          '--db',
          one.dbPath,
          ...timeout,
          '--filter',
          JSON.stringify({ authors: [stored.pubkey] }),
        ]);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain(
          mode === 'notice'
            ? 'method: paged REQ (NOTICE: ERROR: bad msg: unknown cmd)'
            : 'method: paged REQ (no answer to NEG-OPEN in time)',
        );
        expect(result.stdout).toMatch(/down:\n {2}accepted: 1\n/);
      } finally {
        for (const client of server.clients) client.terminate();
        await new Promise((resolve) => server.close(resolve));
      }
    }, 20_000);
  }

  it('reports an unreachable relay and exits 1', async () => {
    const result = await runSync(['ws://127.0.0.1:1', '--db', one.dbPath, '--timeout', '2']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^sync: /);
  }, 15_000);
});
