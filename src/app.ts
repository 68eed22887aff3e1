import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { MessagePort } from 'node:worker_threads';
import { hostKey } from './config/hosts.js';
import { planReload, type ReloadPlan } from './config/reload.js';
import type { Config } from './config/types.js';
import { unixNow } from './event/clock.js';
import type { Verifier } from './event/verify.js';
import { createVerifier, describeVerifier } from './event/verify-pool.js';
import { createLogger, type Logger } from './log.js';
import { NegentropyBudget } from './relay/negentropy-budget.js';
import type { Relay } from './relay/relay.js';
import { chooseServer, type ServerChoice } from './server/choose.js';
import { startServer, type RunningServer, type Sites } from './server/server.js';
import { openSite, type Site, type SiteDeps } from './site.js';
import { Counters } from './relay/counters.js';
import { WriterThread } from './store/writer-thread.js';
import { startConnectionThreads, type ConnectionThreads } from './threads/coordinator.js';
import { allocateThreadSharedState, type ThreadSharedState } from './threads/shared-state.js';
import { CountingMetrics } from './relay/metrics.js';
import { startMetrics, type MetricsListener } from './server/metrics-http.js';
import type { MetricsSite } from './server/metrics.js';
import { VERSION } from './version.js';
import { startClusterLink, type ClusterLink } from './cluster/link.js';
import { isClusterPeers, siteKey } from './cluster/messages.js';
import type { ClusterInformation } from './nips/nip11.js';

/** server.threads: auto runs one connection thread per core, up to this many. */
const AUTO_THREADS_MAX = 8;

/** Set by src/threads/connection-thread.ts only: this relay is one connection thread of a coordinator's. */
export interface ConnectionThreadRole {
  /** Its row in the shared cells (the coordinator is 0). */
  index: number;
  shared: ThreadSharedState;
  /** Its channel to the coordinator's writer thread. */
  writer: MessagePort;
  /** Connection threads of the process, the coordinator's included. */
  threads: number;
  /** A NIP-86 change this thread made to site `site`, for the others. */
  managementChanged(site: number): void;
  /** A port to the main thread's query reader `index` of site `site` (the process has one set of readers). */
  connectReader(site: number, index: number): Promise<MessagePort>;
}

export interface RelayOptions {
  logger?: Logger;
  /**
   * A reload sets the logger's level from `logging.level`: by default only when the relay made its logger
   * from the config (a logger passed in keeps the level its owner gave it).
   */
  logLevelFromConfig?: boolean;
  verifier?: Verifier;
  /** Clock in unix seconds, for tests that move time. */
  now?: () => number;
  /** Clock in milliseconds (rate limits, the page's memoised counters), for tests that move time. */
  nowMs?: () => number;
  connectionThread?: ConnectionThreadRole;
}

export interface RunningRelay {
  /** The default site's relay (the top-level config). */
  readonly relay: Relay;
  /** Every site: the default first, then one per `hosts:` block in file order (a reload applies per site). */
  readonly sites: readonly Site[];
  readonly port: number;
  /** The WebSocket server that runs (server.implementation), and why. */
  readonly server: ServerChoice;
  /** The URL clients connect to on this machine (ws://host:port). */
  readonly localUrl: string;
  /** NIP-77 records and sessions per IP held by every site together. */
  readonly negentropy: NegentropyBudget;
  /** metrics.enabled: the port GET /metrics is served on (metrics.listen); undefined = metrics off. */
  readonly metricsPort: number | undefined;
  /**
   * Hot reload: applies the changed reloadable keys of `next` to every site (the default from the top
   * level, each host from its block) without dropping connections; restart-only keys keep their running
   * value. A site whose plan has conflicts is left unchanged. Host keys are reported as `hosts[i].key`;
   * adding, removing or renaming a host block is reported as `hosts` (restart required).
   */
  reload(next: Config): ReloadPlan;
  /**
   * Resolves once every connection thread has applied the reloads made so far (server.threads: the
   * others apply a reload when its message reaches them); at once with one thread.
   */
  reloaded(): Promise<void>;
  /** Counts a reload refused before reload() (an invalid file) for GET /metrics. */
  reloadRefused(): void;
  /** Connection threads serving (server.threads; 1 = the main thread alone). */
  readonly threads: number;
  /** server.threads > 1, in the main thread: the other connection threads (src/threads/coordinator.ts). */
  readonly connectionThreads: ConnectionThreads | undefined;
  /** Another thread changed site `site`'s NIP-86 state: re-read it and close connections from IPs now blocked. */
  managementChanged(site: number): void;
  /** Graceful stop: stop listening, answer events under way, close sockets with 1001, close every database. */
  stop(): Promise<void>;
}

/** Composition root: opens a site (store, relay, management) per virtual host and the default, then the server. */
export async function startRelay(config: Config, options: RelayOptions = {}): Promise<RunningRelay> {
  const log = options.logger ?? createLogger(config.logging);
  const logLevelFromConfig = options.logLevelFromConfig ?? options.logger === undefined;
  // First, so that a relay that cannot run the server asked for fails before it opens anything.
  const chosen = chooseServer(config.server.implementation);
  const role = options.connectionThread;
  if (role === undefined) log[chosen.degraded ? 'warn' : 'info'](chosen.description);
  const threads = role === undefined ? threadCount(config, chosen, options, log) : 1;
  if (role !== undefined) WriterThread.joinWriter(role.writer);
  // One verifier pool for every site (a connection thread verifies inline: the threads are the pool). A
  // verifier passed in belongs to the caller; the one built from verify.workers is closed on stop.
  const verifier = options.verifier ?? createVerifier(role === undefined ? config.verify.workers : 0, config.verify.implementation);
  const ownVerifier = options.verifier ? undefined : verifier;
  if (role === undefined && ownVerifier) {
    const { line, slow } = describeVerifier(config.verify.workers, config.verify.implementation);
    log[slow ? 'warn' : 'info'](line);
  }
  const now = options.now ?? unixNow;
  let localUrl = '';
  const sites: Site[] = [];
  // server.threads: every thread counts into its own row of cells shared by all; only the main thread prunes.
  const siteCount = 1 + config.hosts.length;
  const shared = role?.shared ?? (threads > 1 ? allocateThreadSharedState(threads, siteCount, config.metrics.enabled) : undefined);
  // Process-wide: read from the default site's config, which a reload keeps current.
  const row = role?.index ?? 0;
  const negentropyBudget = new NegentropyBudget(() => sites[0]!.config.negentropy.max_total_records, shared?.negentropy, row);
  const metricsOn = config.metrics.enabled && role === undefined ? { metrics: () => new CountingMetrics() } : {};
  // Cluster mode: every thread hears the cluster thread's news of the peers (through the writer thread).
  let clusterView: ClusterInformation = { node: config.cluster.node, peers: [] };
  const clustered = config.cluster.enabled ? { cluster: () => clusterView } : {};
  const stopHearingPeers = config.cluster.enabled
    ? WriterThread.onBroadcast((message) => {
        if (!isClusterPeers(message)) return;
        clusterView = { node: message.node, peers: message.peers };
        for (const site of sites) site.clusterChanged();
      })
    : undefined;
  const deps = {
    verifier,
    log,
    now,
    nowMs: options.nowMs,
    negentropyBudget,
    localUrl: () => localUrl,
    server: chosen,
    threads: role?.threads ?? threads,
    ...metricsOn,
    ...clustered,
  };
  const readersOf = (site: number): Pick<SiteDeps, 'connectReader'> =>
    role ? { connectReader: (index) => role.connectReader(site, index) } : {};
  const relayParts = (site: number): SiteDeps['relay'] =>
    shared && {
      counters: new Counters(shared.counters[site], row),
      prunes: role === undefined,
      sharedRateLimits: { tables: shared.rateLimits[site]!, row },
      ...(shared.metrics && { metrics: new CountingMetrics(shared.metrics[site], row) }),
    };
  let connectionThreads: ConnectionThreads | undefined;
  let cluster: ClusterLink | undefined;
  const reloads = { applied: 0, refused: 0 };

  let server: RunningServer;
  let metrics: MetricsListener | undefined;
  try {
    sites.push(openSite(config, [], { ...deps, relay: relayParts(0), ...readersOf(0) }));
    for (const [i, host] of config.hosts.entries()) {
      sites.push(openSite(host.config, host.names, { ...deps, relay: relayParts(i + 1), ...readersOf(i + 1) }));
    }
    if (config.metrics.enabled && role === undefined) {
      const verifyQueueDepth = (): number => (verifier as { inFlight?: number }).inFlight ?? 0;
      const connectionThreadRestarts = (): number => connectionThreads?.restarts ?? 0;
      metrics = await startMetrics(
        config.metrics.listen,
        sites.map((site) => metricsSite(site, config.hosts.length > 0)),
        { verifyQueueDepth, reloads, connectionThreadRestarts, server: chosen.name, version: VERSION },
      );
      log.info({ url: `http://${config.metrics.listen.replace(/:\d+$/, '')}:${metrics.port}/metrics` }, 'metrics listening');
    }
    // Several threads share one port (SO_REUSEPORT), which must be named: port 0 is replaced by a free one.
    const listenConfig = threads > 1 && config.relay.port === 0 ? withPort(config, await freePort(config.relay.host)) : config;
    server = await startServer(directory(sites), listenConfig, log, chosen);
    if (threads > 1) {
      const listener = server;
      connectionThreads = await startConnectionThreads({
        count: threads - 1,
        config: withPort(config, server.port),
        shared: shared!,
        log,
        logLevelFromConfig,
        onManagementChanged: (site, from) => {
          sites[site]?.management.reread();
          listener.closeBlocked();
          connectionThreads?.managementChanged(site, from);
        },
        readerPort: (site, index) => sites[site]?.relay.readerPort(index),
      }).catch(async (error: unknown) => {
        listener.stopListening();
        listener.closeConnections(1001, 'relay shutting down');
        throw error;
      });
      log.info({ threads }, 'connection threads listening');
    }
    if (config.cluster.enabled && role === undefined) {
      const clustered = sites.map((site) => ({ location: site.store.location!, key: siteKey(site.names) }));
      cluster = await startClusterLink(config.cluster, clustered, log);
    }
  } catch (error) {
    await connectionThreads?.stop();
    await metrics?.close();
    for (const site of sites) site.close();
    await ownVerifier?.close?.();
    throw error;
  }
  const running = server;
  sites.forEach((site, index) => {
    site.management.onIpBlocked = () => running.closeBlocked();
    site.management.onPersisted = () => {
      role?.managementChanged(index);
      connectionThreads?.managementChanged(index, 0);
    };
  });
  const host = config.relay.host.includes(':') ? `[${config.relay.host}]` : config.relay.host;
  localUrl = `ws://${host}:${server.port}`;
  for (const site of role === undefined ? sites : []) {
    log.info(
      { url: localUrl, db: site.config.storage.path, ...(site.names.length > 0 && { hosts: site.names }) },
      site.names.length > 0 ? 'virtual relay listening' : 'relay listening',
    );
  }

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    server.stopListening();
    // The other threads first: their last writes go through this thread's writer thread.
    await connectionThreads?.stop();
    await Promise.all(sites.map((site) => site.relay.drain()));
    server.closeConnections(1001, 'relay shutting down');
    await metrics?.close();
    // After the drains (their batches are in the outbox) and before the writer thread closes with the sites.
    await cluster?.stop();
    stopHearingPeers?.();
    for (const site of sites) site.close();
    await ownVerifier?.close?.();
    if (role === undefined) log.info('relay stopped');
  };
  const reload = (next: Config): ReloadPlan => {
    const sameHosts =
      next.hosts.length === sites.length - 1 && next.hosts.every((host, i) => host.names.join() === sites[i + 1]!.names.join());
    const targets: [Site, Config, string][] = [
      [sites[0]!, next, ''],
      ...(sameHosts ? next.hosts.map((host, i): [Site, Config, string] => [sites[i + 1]!, host.config, `hosts[${i}].`]) : []),
    ];
    // All or nothing: every site's plan is checked before any is applied.
    const dryRun = targets.map(([site, config, prefix]) => prefixed(planReload(site.config, config), prefix));
    const refused = dryRun.some((plan) => plan.conflicts.length > 0);
    reloads[refused ? 'refused' : 'applied']++;
    const plans = refused ? dryRun : targets.map(([site, config, prefix]) => prefixed(site.reload(config), prefix));
    if (!refused) {
      if (logLevelFromConfig) log.level = sites[0]!.config.logging.level;
      connectionThreads?.reload(next);
    }
    const all = <T>(pick: (plan: ReloadPlan) => readonly T[]): T[] => plans.flatMap(pick);
    return {
      config: sites[0]!.config,
      applied: refused ? [] : all((plan) => plan.applied),
      restartRequired: [...all((plan) => plan.restartRequired), ...(sameHosts ? [] : ['hosts'])],
      conflicts: all((plan) => plan.conflicts),
    };
  };
  return {
    relay: sites[0]!.relay,
    sites,
    port: server.port,
    server: chosen,
    localUrl,
    negentropy: negentropyBudget,
    metricsPort: metrics?.port,
    reload,
    reloaded: async () => connectionThreads?.reloaded(),
    reloadRefused: () => void reloads.refused++,
    threads,
    connectionThreads,
    managementChanged: (site) => {
      sites[site]?.management.reread();
      running.closeBlocked();
    },
    stop: () => (stopping ??= stop()),
  };
}

/**
 * server.threads, or 1 with a warning naming why not: several threads need the native server (ws cannot
 * share a port), the writer thread and a database file (every thread writes through it), and no test
 * hooks (clocks and verifiers cannot cross to another thread).
 */
function threadCount(config: Config, chosen: ServerChoice, options: RelayOptions, log: Logger): number {
  const configured = config.server.threads;
  const auto = configured === 'auto';
  const asked = configured === 'auto' ? Math.min(availableParallelism(), AUTO_THREADS_MAX) : configured;
  if (asked === 1) return 1;
  const files = [config, ...config.hosts.map((host) => host.config)].every((site) => !['', ':memory:'].includes(site.storage.path));
  const why = !chosen.native
    ? `the ${chosen.name} server cannot share its port between threads`
    : !config.storage.writer_thread
      ? 'storage.writer_thread is off'
      : !files
        ? 'a site keeps its events in memory (storage.path)'
        : options.now !== undefined || options.nowMs !== undefined || options.verifier !== undefined
          ? 'a clock or verifier was passed in (tests)'
          : undefined;
  if (why === undefined) return asked;
  if (auto) log.info(`server.threads is auto (${asked} cores), but the relay runs 1 thread: ${why}`);
  else log.warn(`server.threads is ${asked}, but the relay runs 1 thread: ${why}`);
  return 1;
}

function withPort(config: Config, port: number): Config {
  return { ...config, relay: { ...config.relay, port } };
}

/** A port free on `host` now (the first of several threads must listen on a named port). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** A host site's plan with its keys named as in the file (hosts[i].info.name). */
function prefixed(plan: ReloadPlan, prefix: string): ReloadPlan {
  const name = (key: string): string => `${prefix}${key}`;
  return {
    config: plan.config,
    applied: plan.applied.map(name),
    restartRequired: plan.restartRequired.map(name),
    conflicts: plan.conflicts.map(({ key, reason }) => ({ key: name(key), reason })),
  };
}

/** What GET /metrics reads of a site; `labelled` (hosts: configured): its `site` label is its first name, or `default`. */
function metricsSite(site: Site, labelled: boolean): MetricsSite {
  if (!(site.relay.metrics instanceof CountingMetrics)) throw new Error('metrics.enabled, but a site counts nothing');
  return {
    label: labelled ? (site.names[0] ?? 'default') : undefined,
    metrics: site.relay.metrics,
    counters: site.relay.counters,
    databasePath: site.config.storage.path,
  };
}

/** The listener's choice of site: by Host header (case and port ignored), else the default (sites[0]). */
function directory(sites: readonly Site[]): Sites {
  const byName = new Map(sites.flatMap((site) => site.names.map((name) => [name, site.served] as const)));
  const fallback = sites[0]!.served;
  return { all: sites.map((site) => site.served), pick: (header) => byName.get(hostKey(header)) ?? fallback };
}
