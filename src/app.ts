import { hostKey } from './config/hosts.js';
import { planReload, type ReloadPlan } from './config/reload.js';
import type { Config } from './config/types.js';
import { unixNow } from './event/clock.js';
import type { Verifier } from './event/verify.js';
import { createVerifier } from './event/verify-pool.js';
import { createLogger, type Logger } from './log.js';
import { NegentropyBudget } from './relay/negentropy-budget.js';
import type { Relay } from './relay/relay.js';
import { chooseServer, type ServerChoice } from './server/choose.js';
import { startServer, type RunningServer, type Sites } from './server/server.js';
import { openSite, type Site } from './site.js';
import { CountingMetrics } from './relay/metrics.js';
import { startMetrics, type MetricsListener } from './server/metrics-http.js';
import type { MetricsSite } from './server/metrics.js';
import { VERSION } from './version.js';

export interface RelayOptions {
  logger?: Logger;
  verifier?: Verifier;
  /** Clock in unix seconds, for tests that move time. */
  now?: () => number;
  /** Clock in milliseconds (rate limits, the page's memoised counters), for tests that move time. */
  nowMs?: () => number;
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
  /** Counts a reload refused before reload() (an invalid file) for GET /metrics. */
  reloadRefused(): void;
  /** Graceful stop: stop listening, answer events under way, close sockets with 1001, close every database. */
  stop(): Promise<void>;
}

/** Composition root: opens a site (store, relay, management) per virtual host and the default, then the server. */
export async function startRelay(config: Config, options: RelayOptions = {}): Promise<RunningRelay> {
  const log = options.logger ?? createLogger(config.logging);
  // First, so that a relay that cannot run the server asked for fails before it opens anything.
  const chosen = chooseServer(config.server.implementation);
  log[chosen.degraded ? 'warn' : 'info'](chosen.description);
  // One verifier pool for every site. A verifier passed in belongs to the caller; the one built from
  // verify.workers is closed on stop.
  const verifier = options.verifier ?? createVerifier(config.verify.workers, config.verify.implementation);
  const ownVerifier = options.verifier ? undefined : verifier;
  const now = options.now ?? unixNow;
  let localUrl = '';
  const sites: Site[] = [];
  // Process-wide: read from the default site's config, which a reload keeps current.
  const negentropyBudget = new NegentropyBudget(() => sites[0]!.config.negentropy.max_total_records);
  const metricsOn = config.metrics.enabled ? { metrics: () => new CountingMetrics() } : {};
  const deps = { verifier, log, now, nowMs: options.nowMs, negentropyBudget, localUrl: () => localUrl, server: chosen, ...metricsOn };
  const reloads = { applied: 0, refused: 0 };

  let server: RunningServer;
  let metrics: MetricsListener | undefined;
  try {
    sites.push(openSite(config, [], deps));
    for (const host of config.hosts) sites.push(openSite(host.config, host.names, deps));
    if (config.metrics.enabled) {
      const verifyQueueDepth = (): number => (verifier as { inFlight?: number }).inFlight ?? 0;
      metrics = await startMetrics(
        config.metrics.listen,
        sites.map((site) => metricsSite(site, config.hosts.length > 0)),
        { verifyQueueDepth, reloads, server: chosen.name, version: VERSION },
      );
      log.info({ url: `http://${config.metrics.listen.replace(/:\d+$/, '')}:${metrics.port}/metrics` }, 'metrics listening');
    }
    server = await startServer(directory(sites), config, log, chosen);
  } catch (error) {
    await metrics?.close();
    for (const site of sites) site.relay.close();
    await ownVerifier?.close?.();
    throw error;
  }
  const running = server;
  for (const site of sites) site.management.onIpBlocked = () => running.closeBlocked();
  const host = config.relay.host.includes(':') ? `[${config.relay.host}]` : config.relay.host;
  localUrl = `ws://${host}:${server.port}`;
  for (const site of sites) {
    log.info(
      { url: localUrl, db: site.config.storage.path, ...(site.names.length > 0 && { hosts: site.names }) },
      site.names.length > 0 ? 'virtual relay listening' : 'relay listening',
    );
  }

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    server.stopListening();
    await Promise.all(sites.map((site) => site.relay.drain()));
    server.closeConnections(1001, 'relay shutting down');
    await metrics?.close();
    for (const site of sites) site.relay.close();
    await ownVerifier?.close?.();
    log.info('relay stopped');
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
    if (!refused) log.level = sites[0]!.config.logging.level;
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
    reloadRefused: () => void reloads.refused++,
    stop: () => (stopping ??= stop()),
  };
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
