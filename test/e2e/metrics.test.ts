/**
 * GET /metrics end to end: the real relay with metrics.enabled on a listener of its own (port 0), real
 * ws clients publishing, being refused and subscribing, then a scrape over HTTP whose text is parsed and
 * compared before and after: every counter moves by exactly what the clients did.
 */
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { startConfigReloader } from '../../src/cli/config-reload.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { NO_METRICS } from '../../src/relay/metrics.js';
import { RawClient } from '../helpers/client.js';
import { trackConnections } from '../helpers/connections.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { scrape, type Scrape } from '../helpers/metrics.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

/** A port nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('metrics off (the default)', () => {
  it('nothing listens on metrics.listen, the relay port does not serve /metrics, the relay counts nothing', async () => {
    const port = await freePort();
    const relay = await startTestRelay({ metrics: { listen: `127.0.0.1:${port}` } });
    try {
      expect(relay.config.metrics.enabled).toBe(false);
      expect(relay.metricsPort).toBeUndefined();
      expect(relay.relay.metrics).toBe(NO_METRICS);
      await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
      expect((await fetch(`http://127.0.0.1:${relay.port}/metrics`)).status).toBe(404);
    } finally {
      await relay.cleanup();
    }
  });
});

describe('metrics on', () => {
  let clock = now();
  let relay: TestRelay;
  const connect = trackConnections(() => relay.url);
  const read = (): Promise<Scrape> => scrape(relay.metricsPort!);
  /** After − before, for one series. */
  const moved = (before: Scrape, after: Scrape, name: string, labels?: Record<string, string>): number =>
    after.value(name, labels) - before.value(name, labels);

  beforeAll(async () => {
    relay = await startTestRelay(
      {
        metrics: { enabled: true, listen: '127.0.0.1:0' },
        write: { kinds: { deny: [7] } },
        retention: [{ kinds: [30], max_per_pubkey: 1 }],
      },
      { now: () => clock },
    );
  });
  afterAll(async () => {
    await relay?.cleanup();
  });

  it('listens on a port of its own, and answers only GET /metrics', async () => {
    expect(relay.metricsPort).toBeGreaterThan(0);
    expect(relay.metricsPort).not.toBe(relay.port);
    const base = `http://127.0.0.1:${relay.metricsPort}`;
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    const first = await read();
    expect(first.types.get('commons_events_refused_total')).toBe('counter');
    expect(first.types.get('commons_event_ok_seconds')).toBe('histogram');
    expect(first.types.get('commons_connections')).toBe('gauge');
    expect(first.text).toMatch(/^commons_build_info\{version="\d+\.\d+\.\d+",server=".+"\} 1$/m);
    expect(first.text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(first.value('commons_database_bytes')).toBeGreaterThan(0);
    expect(first.text).toMatch(/^commons_database_wal_bytes \d+$/m);
    expect(first.value('commons_verify_queue_depth')).toBe(0);
  });

  it('counts events received, accepted and refused by prefix and kind class, and times each OK', async () => {
    const before = await read();
    const alice = newKeys();
    const client = await connect();
    const note = signed(alice);
    const forged = { ...signed(alice, { content: 'forged' }) };
    forged.sig = `${forged.sig.slice(0, -1)}${forged.sig.endsWith('0') ? '1' : '0'}`;
    const answers = [
      await client.publish(note),
      await client.publish(note),
      await client.publish(signed(alice, { kind: 0, content: '{}' })),
      await client.publish(signed(alice, { kind: 30000, tags: [['d', 'x']] })),
      await client.publish(signed(alice, { kind: 7, content: '+' })),
      await client.publish(forged),
    ];
    expect(answers.map((frame) => [frame[2], String(frame[3]).split(':')[0]])).toEqual([
      [true, ''],
      [true, 'duplicate'],
      [true, ''],
      [true, ''],
      [false, 'blocked'],
      [false, 'invalid'],
    ]);
    client.send(['EVENT', { content: 'no id' }]);
    await client.next((frame) => frame[0] === 'NOTICE');
    const after = await read();

    expect(moved(before, after, 'commons_events_received_total')).toBe(7);
    expect(moved(before, after, 'commons_events_accepted_total', { kind_class: 'regular' })).toBe(1);
    expect(moved(before, after, 'commons_events_accepted_total', { kind_class: 'replaceable' })).toBe(1);
    expect(moved(before, after, 'commons_events_accepted_total', { kind_class: 'addressable' })).toBe(1);
    expect(after.sum('commons_events_accepted_total') - before.sum('commons_events_accepted_total')).toBe(3);
    expect(moved(before, after, 'commons_events_refused_total', { reason: 'duplicate', kind_class: 'regular' })).toBe(1);
    expect(moved(before, after, 'commons_events_refused_total', { reason: 'blocked', kind_class: 'regular' })).toBe(1);
    expect(moved(before, after, 'commons_events_refused_total', { reason: 'invalid', kind_class: 'regular' })).toBe(1);
    expect(moved(before, after, 'commons_events_refused_total', { reason: 'invalid', kind_class: 'unknown' })).toBe(1);
    expect(after.sum('commons_events_refused_total') - before.sum('commons_events_refused_total')).toBe(4);
    // Every EVENT's answer is timed once.
    expect(moved(before, after, 'commons_event_ok_seconds_count')).toBe(7);
    expect(moved(before, after, 'commons_event_ok_seconds_bucket', { le: '+Inf' })).toBe(7);
    expect(moved(before, after, 'commons_event_ok_seconds_sum')).toBeGreaterThan(0);
    // Three new events went through the writer (the duplicate took the fast path; the refused never got there).
    expect(moved(before, after, 'commons_writer_batch_events_sum')).toBe(3);
    const batches = moved(before, after, 'commons_writer_batch_events_count');
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(3);
    expect(moved(before, after, 'commons_writer_commit_seconds_count')).toBe(batches);
    // The connection: open now, and opened once.
    expect(moved(before, after, 'commons_connections')).toBe(1);
    expect(moved(before, after, 'commons_connections_opened_total')).toBe(1);
  });

  it('counts subscriptions, REQ → EOSE, and events sent stored and live', async () => {
    const bob = newKeys();
    const publisher = await connect();
    for (const content of ['one', 'two']) expect((await publisher.publish(signed(bob, { content })))[2]).toBe(true);
    const reader = await connect();
    const before = await read();
    const { events } = await reader.req('bob', { authors: [bob.pubkey] });
    expect(events).toHaveLength(2);
    const live = signed(bob, { content: 'three' });
    await publisher.publish(live);
    await reader.next((frame) => frame[0] === 'EVENT' && frame[1] === 'bob' && (frame[2] as { id: string }).id === live.id);
    const ephemeral = signed(bob, { kind: 20001, content: 'now' });
    await publisher.publish(ephemeral);
    await reader.next((frame) => frame[0] === 'EVENT' && frame[1] === 'bob' && (frame[2] as { id: string }).id === ephemeral.id);
    const after = await read();

    expect(moved(before, after, 'commons_subscriptions_opened_total')).toBe(1);
    expect(moved(before, after, 'commons_subscriptions')).toBe(1);
    expect(moved(before, after, 'commons_req_eose_seconds_count')).toBe(1);
    expect(moved(before, after, 'commons_events_sent_total', { source: 'stored' })).toBe(2);
    expect(moved(before, after, 'commons_events_sent_total', { source: 'live' })).toBe(2);
    expect(moved(before, after, 'commons_events_accepted_total', { kind_class: 'ephemeral' })).toBe(1);
    expect(moved(before, after, 'commons_slow_consumer_disconnects_total')).toBe(0);
  });

  it('counts pruner deletions by rule and expiration', async () => {
    const carol = newKeys();
    const client = await connect();
    for (const content of ['a', 'b', 'c'])
      expect((await client.publish(signed(carol, { kind: 30, content, created_at: clock - 10 + content.charCodeAt(0) - 97 })))[2]).toBe(
        true,
      );
    expect((await client.publish(signed(carol, { tags: [['expiration', String(clock + 30)]] })))[2]).toBe(true);
    const before = await read();
    clock += 60;
    await relay.relay.pruner.run();
    const after = await read();
    expect(moved(before, after, 'commons_pruned_events_total', { rule: '0', cause: 'max_per_pubkey' })).toBe(2);
    expect(moved(before, after, 'commons_pruned_events_total', { rule: 'expired', cause: 'expired' })).toBe(1);
  });

  it('counts reloads applied and refused (an invalid file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'commons-metrics-reload-'));
    const file = join(dir, 'relay.yaml');
    const reloader = startConfigReloader(file, () => loadConfig(file, { port: 0, db: relay.dbPath }, {}), relay, pino({ level: 'silent' }));
    try {
      const before = await read();
      writeFileSync(
        file,
        'reload: { watch: false }\nlogging: { level: silent }\nmetrics: { enabled: true, listen: 127.0.0.1:0 }\nlimits: { max_limit: nope }\n',
      );
      await reloader.reload('test');
      const refused = await read();
      expect(moved(before, refused, 'commons_config_reloads_total', { result: 'refused' })).toBe(1);
      expect(moved(before, refused, 'commons_config_reloads_total', { result: 'applied' })).toBe(0);
      writeFileSync(
        file,
        'reload: { watch: false }\nlogging: { level: silent }\nmetrics: { enabled: true, listen: 127.0.0.1:0 }\ninfo: { name: renamed }\n',
      );
      await reloader.reload('test');
      expect(relay.relay.config.info.name).toBe('renamed');
      const applied = await read();
      expect(moved(refused, applied, 'commons_config_reloads_total', { result: 'applied' })).toBe(1);
      expect(moved(refused, applied, 'commons_config_reloads_total', { result: 'refused' })).toBe(0);
    } finally {
      reloader.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics with hosts:', () => {
  const dir = mkdtempSync(join(tmpdir(), 'commons-metrics-hosts-'));
  let relay: RunningRelay;
  beforeAll(async () => {
    const yaml = `
relay: { host: 127.0.0.1, port: 0 }
storage: { path: ${join(dir, 'default.sqlite')} }
metrics: { enabled: true, listen: 127.0.0.1:0 }
hosts:
  - names: [a.example]
    storage: { path: ${join(dir, 'a.sqlite')} }
`;
    relay = await startRelay(parseConfig(yaml, 'hosts.yaml'), { logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await relay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('labels every site series with site: the first host name, or default', async () => {
    const keys = newKeys();
    const before = await scrape(relay.metricsPort!);
    const atA = await RawClient.connect(relay.localUrl, { host: 'a.example' });
    const atDefault = await RawClient.connect(relay.localUrl);
    try {
      expect((await atA.publish(signed(keys, { content: 'a' })))[2]).toBe(true);
      expect((await atA.publish(signed(keys, { kind: 7, content: 'a' })))[2]).toBe(true);
      expect((await atDefault.publish(signed(keys, { content: 'default' })))[2]).toBe(true);
      const after = await scrape(relay.metricsPort!);
      const moved = (name: string, labels: Record<string, string>): number => after.value(name, labels) - before.value(name, labels);
      expect(moved('commons_events_received_total', { site: 'a.example' })).toBe(2);
      expect(moved('commons_events_received_total', { site: 'default' })).toBe(1);
      expect(moved('commons_events_accepted_total', { site: 'a.example', kind_class: 'regular' })).toBe(2);
      expect(moved('commons_event_ok_seconds_count', { site: 'a.example' })).toBe(2);
      expect(moved('commons_connections', { site: 'default' })).toBe(1);
      expect(after.value('commons_database_bytes', { site: 'a.example' })).toBeGreaterThan(0);
      expect(after.value('commons_database_bytes', { site: 'default' })).toBeGreaterThan(0);
      // Process-wide series carry no site.
      expect(after.text).toMatch(/^commons_verify_queue_depth 0$/m);
      expect(after.text).not.toMatch(/^commons_events_received_total [\d.]+$/m);
    } finally {
      atA.socket.terminate();
      atDefault.socket.terminate();
    }
  });
});
