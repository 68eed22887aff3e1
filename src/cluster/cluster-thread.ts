/**
 * The cluster thread (cluster mode, started by link.ts): this node's link to the NATS JetStream stream.
 * Per site it publishes the outbox (events stored here, appended by the writer thread in the batch's own
 * transaction) and deletes what the stream acknowledged; it consumes the stream with this node's durable
 * consumer and writes the other nodes' batches through the writer thread, which records the stream
 * position in the same transaction and announces what was stored to every connection thread (live
 * delivery). Ephemeral events go over core NATS. It never blocks the relay: a NATS that is down only
 * delays publishing, and the outbox keeps what waits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { consumerPositions, natsAuthentication, nodeStatuses } from './status.js';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { openReadOnly } from '../store/open.js';
import { ClusterTables, type OutboxRow } from '../store/cluster-tables.js';
import type { ManagementChange } from '../store/management.js';
import type { WireItem, WriterAnnouncement, WriterReply, WriterRequest } from '../store/writer-thread.js';
import {
  consumerName,
  subjects,
  type ClusterSite,
  type ClusterPeers,
  type ClusterThreadData,
  type EphemeralMessage,
  type FromClusterThread,
  type NodeStatus,
  type PeerHealth,
  type StreamBatch,
  type ToClusterThread,
} from './messages.js';

const port = parentPort;
if (!port) throw new Error('cluster-thread must run in a worker thread');
const data = workerData as ClusterThreadData;
const tell = (message: FromClusterThread): void => port.postMessage(message);
const log = pino({ level: data.logLevel, base: undefined }, { write: (line: string) => tell({ type: 'log', line }) }).child({
  cluster: data.cluster.node,
});

const { cluster } = data;
const node = cluster.node;
const names = subjects(cluster.subject_prefix);
/** Outbox rows per published message, and per read of the outbox. */
const PUBLISH_BATCH = 200;
/** Stream messages applied per write transaction at most. */
const APPLY_BATCH = 500;
/** Tries of a batch the store refuses before it is applied one event at a time. */
const APPLY_ATTEMPTS = 3;
const RETRY_MS = 1000;
const POLL_MS = 1000;
/** How often the other nodes are asked how they are (NIP-11 and the page show it). */
const PEERS_EVERY_MS = 5000;

let stopping = false;
/** The stream's name and creation time: the key of the positions applied (table cluster_applied). */
let streamKey = '';
const startedAt = Date.now();
let lastError: NodeStatus['lastError'] = null;
const failed = (error: unknown, what: string): void => {
  const message = `${what}: ${(error as Error).message}`;
  if (lastError?.message !== message) log.warn({ err: error }, what);
  lastError = { message, at: Date.now() };
};

// --- the writer thread, over this thread's channel ---------------------------------------------------

const waiting = new Map<number, (reply: WriterReply) => void>();
let requestSeq = 0;
const writer = data.writer;
function request(make: (seq: number) => WriterRequest): Promise<WriterReply> {
  const seq = ++requestSeq;
  return new Promise((resolve) => {
    waiting.set(seq, resolve);
    writer.postMessage(make(seq));
  });
}

interface SiteLink {
  readonly site: ClusterSite;
  readonly tables: ClusterTables;
  /** Highest outbox id published (and acknowledged by the stream). */
  sent: number;
  /** Highest stream sequence applied here. */
  applied: number;
  /** Resolves the publisher's wait: something was committed here, or the thread stops. */
  wake: (() => void) | undefined;
  readonly inbox: JsMsg[];
  applying: Promise<void> | undefined;
}

const links = data.sites.map((site): SiteLink => {
  const tables = new ClusterTables(openReadOnly(site.location.path));
  return { site, tables, sent: 0, applied: 0, wake: undefined, inbox: [], applying: undefined };
});
const byPath = new Map(links.map((link) => [link.site.location.path, link]));

let nc: NatsConnection | undefined;

writer.on('message', (message: WriterReply | WriterAnnouncement) => {
  if (!('op' in message)) {
    const resolve = waiting.get(message.seq);
    waiting.delete(message.seq);
    resolve?.(message);
    return;
  }
  if (message.op === 'broadcast') return;
  const link = byPath.get(message.path);
  if (link === undefined) return;
  if (message.op === 'committed') link.wake?.();
  else if (message.op === 'ephemeral' && nc !== undefined && !nc.isClosed()) {
    const ephemeral: EphemeralMessage = { node, json: message.json };
    nc.publish(names.ephemeral(link.site.key), JSON.stringify(ephemeral));
  }
});

// --- publishing the outbox ---------------------------------------------------------------------------

const pause = (link: SiteLink, ms: number): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      link.wake = undefined;
      resolve();
    }
    link.wake = done;
  });

async function publishOne(js: JetStreamClient, link: SiteLink): Promise<boolean> {
  // NIP-86 changes are written by the relay's own connection, not the writer thread: no announcement
  // wakes this loop for them, the poll finds them (within POLL_MS).
  const rows = link.tables.pending(link.sent, PUBLISH_BATCH);
  if (rows.length === 0) return false;
  const isChange = 'change' in rows[0]!;
  const run = rows.slice(0, Math.min(firstOtherwise(rows, isChange), withinBytes(rows, maxMessageBytes())));
  const first = run[0]!.id;
  const last = run[run.length - 1]!.id;
  const batch: StreamBatch = isChange
    ? { v: 1, node, changes: run.flatMap((row) => ('change' in row ? [row.change] : [])) }
    : { v: 1, node, events: run.flatMap((row) => ('item' in row ? [row.item] : [])) };
  // The id names the whole range: a retry after a lost acknowledgement may carry more rows than the first try.
  await js.publish(names.events(link.site.key), JSON.stringify(batch), {
    msgID: `${node}:${link.site.key}:${first}-${last}`,
    timeout: 5000,
  });
  link.sent = last;
  writer.postMessage({ op: 'outbox-sent', location: link.site.location, upto: last } satisfies WriterRequest);
  return true;
}

/** A stream message stays under the server's max_payload (1 MiB by default), with room for the JSON around the events. */
function maxMessageBytes(): number {
  return Math.floor((nc?.info?.max_payload ?? 1_048_576) * 0.9);
}

/** How many rows, from the first, fit in `budget` bytes as JSON (the first always: one event is far smaller than max_payload). */
function withinBytes(rows: readonly OutboxRow[], budget: number): number {
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    bytes += Buffer.byteLength(JSON.stringify('item' in row ? row.item : row.change)) + 1;
    if (bytes > budget && i > 0) return i;
  }
  return rows.length;
}

/** The index of the first row of the other sort (a change among events, or an event among changes). */
function firstOtherwise(rows: readonly OutboxRow[], changes: boolean): number {
  const index = rows.findIndex((row) => 'change' in row !== changes);
  return index === -1 ? rows.length : index;
}

async function publishLoop(js: JetStreamClient, link: SiteLink): Promise<void> {
  while (!stopping) {
    try {
      if (!(await publishOne(js, link))) await pause(link, POLL_MS);
    } catch (error) {
      failed(error, `publishing the outbox of ${link.site.key}`);
      await pause(link, RETRY_MS);
    }
  }
}

// --- applying the stream -----------------------------------------------------------------------------

/** A run of messages of one sort, applied in one transaction with the position of its last message. */
type Segment = { last: number } & ({ items: WireItem[] } | { changes: ManagementChange[] });

/** The messages in order, cut where the sort changes; this node's own and unreadable messages only move the position. */
function segmentsOf(link: SiteLink, messages: readonly JsMsg[]): Segment[] {
  const segments: Segment[] = [];
  for (const message of messages) {
    if (message.seq <= link.applied) continue; // applied before a crash lost its acknowledgement
    let batch: StreamBatch | undefined;
    try {
      batch = message.json<StreamBatch>();
    } catch (error) {
      failed(error, `an unreadable message (stream sequence ${message.seq}) was skipped`);
    }
    const own = batch === undefined || batch.v !== 1 || batch.node === node;
    const changes = !own && 'changes' in batch! && Array.isArray(batch.changes) ? batch.changes : undefined;
    const items = !own && 'events' in batch! && Array.isArray(batch.events) ? batch.events : [];
    let open = segments[segments.length - 1];
    if (changes !== undefined) {
      if (open === undefined || !('changes' in open)) segments.push((open = { last: message.seq, changes: [] }));
      open.changes.push(...changes);
    } else {
      if (open === undefined || !('items' in open)) segments.push((open = { last: message.seq, items: [] }));
      open.items.push(...items);
    }
    open.last = message.seq;
  }
  return segments;
}

async function applyInbox(link: SiteLink): Promise<void> {
  while (link.inbox.length > 0) {
    const messages = link.inbox.slice(0, APPLY_BATCH);
    for (const segment of segmentsOf(link, messages)) {
      const applied = { stream: streamKey, seq: segment.last };
      const { location } = link.site;
      for (let attempt = 1; ; attempt++) {
        const reply = await request((seq) =>
          'items' in segment
            ? { op: 'write', seq, location, items: attempt <= APPLY_ATTEMPTS ? segment.items : [], applied }
            : { op: 'manage', seq, location, changes: attempt <= APPLY_ATTEMPTS ? segment.changes : [], applied },
        );
        if (!('error' in reply)) break;
        failed(new Error(reply.error), `applying stream messages up to ${segment.last} to ${link.site.key}`);
        if (stopping) return;
        // After APPLY_ATTEMPTS a batch the store refuses every time is applied one by one, the refused ones skipped.
        if (attempt === APPLY_ATTEMPTS) await applyOneByOne(link, segment);
        else await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
      link.applied = segment.last;
    }
    link.inbox.splice(0, messages.length);
    for (const message of messages) message.ack();
  }
}

/** A batch the store refused as a whole: each event or change alone, those it refuses again logged and left out. */
async function applyOneByOne(link: SiteLink, segment: Segment): Promise<void> {
  const { location } = link.site;
  const singles =
    'items' in segment ? segment.items.map((item) => ({ items: [item] })) : segment.changes.map((change) => ({ changes: [change] }));
  for (const single of singles) {
    const reply = await request((seq) =>
      'items' in single
        ? { op: 'write', seq, location, items: single.items }
        : { op: 'manage', seq, location, changes: single.changes, applied: { stream: streamKey, seq: link.applied } },
    );
    if ('error' in reply) log.error({ site: link.site.key, refused: single, error: reply.error }, 'a message of another node was left out');
  }
}

function received(link: SiteLink, message: JsMsg): void {
  link.inbox.push(message);
  startApplying(link);
}

function startApplying(link: SiteLink): void {
  if (link.applying !== undefined || stopping) return;
  link.applying = applyInbox(link)
    .catch((error: unknown) => failed(error, `applying the stream to ${link.site.key}`))
    .finally(() => {
      link.applying = undefined;
      if (link.inbox.length > 0) setTimeout(() => startApplying(link), RETRY_MS);
    });
}

// --- setup -------------------------------------------------------------------------------------------

async function ensureStream(connection: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(connection);
  try {
    await jsm.streams.info(cluster.stream);
  } catch {
    await jsm.streams.add({
      name: cluster.stream,
      subjects: [names.allEvents],
      num_replicas: cluster.replicas,
      max_age: cluster.max_age === null ? 0 : nanos(cluster.max_age * 1000),
      max_bytes: cluster.max_bytes ?? -1,
      // NATS wants the window no longer than max_age.
      duplicate_window: nanos(Math.min(120, cluster.max_age ?? 120) * 1000),
    });
    log.info({ stream: cluster.stream }, 'created the cluster stream');
  }
  const { state, created } = await jsm.streams.info(cluster.stream);
  // Positions are kept per incarnation of the stream: one deleted and created again starts at 1.
  streamKey = `${cluster.stream}@${created}`;
  for (const link of links) {
    link.applied = link.tables.applied(streamKey);
    const durable = consumerName(node, link.site.key);
    // The database says what was applied, not the consumer. One that acknowledged more (this node's
    // database was replaced, or restored from a backup) is created again from the database's position;
    // so is one holding messages delivered before a crash and never acknowledged, which it would
    // otherwise only deliver again after ack_wait.
    const existing = await jsm.consumers.info(cluster.stream, durable).catch(() => undefined);
    const ahead = existing !== undefined && existing.ack_floor.stream_seq > link.applied;
    const recreate = existing !== undefined && (ahead || existing.num_ack_pending > 0);
    if (ahead) {
      log.warn(
        { site: link.site.key, applied: link.applied, acked: existing.ack_floor.stream_seq },
        "the consumer is ahead of this database: following the stream again from the database's position",
      );
    }
    if (recreate) await jsm.consumers.delete(cluster.stream, durable);
    if (existing === undefined || recreate) {
      await jsm.consumers.add(cluster.stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        filter_subject: names.events(link.site.key),
        max_ack_pending: 20_000,
        ack_wait: nanos(60_000),
        ...(link.applied === 0
          ? { deliver_policy: DeliverPolicy.All }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: link.applied + 1 }),
      });
    }
    // Messages after this node's position left the stream before it applied them (a node down for
    // longer than max_age, or a new node joining an old cluster): what they held is missing here.
    if (state.first_seq > link.applied + 1) {
      const missing = `stream messages ${link.applied + 1}–${state.first_seq - 1} of ${link.site.key} expired before this node applied them`;
      failed(
        new Error(`${missing}: run \`commons sync <a peer's ws:// URL> --config <this node's config>\` to fetch what they held`),
        'catching up',
      );
    }
  }
}

function status(): NodeStatus {
  return {
    node,
    connected: nc !== undefined && !nc.isClosed(),
    startedAt,
    lastError,
    sites: links.map((link) => ({ site: link.site.key, applied: link.applied, outbox: link.tables.outbox() })),
  };
}

async function run(): Promise<void> {
  const connection = await connect({
    servers: [...cluster.servers],
    name: `commons ${node}`,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    ...natsAuthentication(cluster),
  });
  nc = connection;
  if (stopping) return;
  void (async () => {
    for await (const event of connection.status()) {
      if (event.type === 'disconnect') failed(new Error('disconnected'), 'NATS');
      else if (event.type === 'reconnect') log.info('NATS reconnected');
    }
  })();
  connection.subscribe(names.allEphemeral, {
    callback: (error, message) => {
      if (error !== null) return;
      const link = links.find((candidate) => message.subject === names.ephemeral(candidate.site.key));
      try {
        const ephemeral = message.json<EphemeralMessage>();
        if (link === undefined || ephemeral.node === node || typeof ephemeral.json !== 'string') return;
        writer.postMessage({ op: 'ephemeral', path: link.site.location.path, json: ephemeral.json } satisfies WriterRequest);
      } catch {}
    },
  });
  connection.subscribe(names.status, { callback: (_error, message) => void message.respond(JSON.stringify(status())) });
  const js = jetstream(connection);
  for (const link of links) void publishLoop(js, link);
  // NATS may go away between any two of these steps: all of them again until they all succeed.
  for (;;) {
    const consuming: (() => void)[] = [];
    try {
      await ensureStream(connection);
      for (const link of links) {
        const consumer = await js.consumers.get(cluster.stream, consumerName(node, link.site.key));
        const messages = await consumer.consume({ max_messages: 1000, callback: (message) => received(link, message) });
        consuming.push(() => messages.stop());
      }
      stops.push(...consuming);
      break;
    } catch (error) {
      for (const stop of consuming) stop();
      failed(error, 'setting up the stream and consumers');
      if (stopping) return;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  log.info({ servers: cluster.servers, stream: cluster.stream }, 'cluster link up');
  const poll = (): void =>
    void tellPeers(connection).catch((error: unknown) => {
      if (!stopping) failed(error, 'asking the other nodes how they are');
    });
  poll();
  const timer = setInterval(poll, PEERS_EVERY_MS);
  stops.push(() => clearInterval(timer));
}

/** Every other node known to the stream (by its consumer) or answering now, and how it is, for every thread. */
async function tellPeers(connection: NatsConnection): Promise<void> {
  const lag = new Map<string, number>();
  for (const consumer of await consumerPositions(connection, cluster.stream)) {
    if (!consumer.name.includes('__')) lag.set(consumer.name, consumer.lag);
  }
  const answered = new Map((await nodeStatuses(connection, cluster.subject_prefix, 500)).map((status) => [status.node, status]));
  const peers: PeerHealth[] = [...new Set([...lag.keys(), ...answered.keys()])]
    .filter((name) => name !== node)
    .sort()
    .map((name) => ({ node: name, healthy: answered.get(name)?.connected === true, lag: lag.get(name) ?? null }));
  const message: ClusterPeers = { type: 'cluster-peers', node, peers };
  writer.postMessage({ op: 'broadcast', message } satisfies WriterRequest);
}

const stops: (() => void)[] = [];
const running = run().catch((error: unknown) => failed(error, 'cluster link'));
tell({ type: 'started' });

port.on('message', (message: ToClusterThread) => {
  if (message.type !== 'stop') return;
  stopping = true;
  void (async () => {
    for (const stop of stops) stop();
    for (const link of links) link.wake?.();
    // NATS may never have answered (connect waits for it): stop without it then.
    await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 1000))]);
    await Promise.all(links.map((link) => link.applying));
    const connection = nc;
    if (connection !== undefined && !connection.isClosed()) {
      // A last try at publishing what waits, bounded; what is left goes out after the next start.
      const js = jetstream(connection);
      const until = Date.now() + 2000;
      for (const link of links) {
        while (Date.now() < until && (await publishOne(js, link).catch(() => false))) {
          // published one more batch
        }
      }
      await Promise.race([connection.drain(), new Promise((resolve) => setTimeout(resolve, 2000))]);
    }
    tell({ type: 'stopped' });
    port.close();
    writer.close();
  })();
});
