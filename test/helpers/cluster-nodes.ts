/**
 * Commons cluster nodes as child processes (`commons serve --config FILE`), each with its own YAML config,
 * database and relay port in a folder of its own. The port is chosen once, so a restarted node comes back
 * on the same address with the same database, like a node an operator restarts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startCliRelay, type CliRelay, type Exit } from './cli.js';
import { runCommand } from './run-cli.js';

const START_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 30_000;

export interface ClusterNodeOptions {
  /** cluster.node, also the node's folder name under `parentDir`. */
  name: string;
  parentDir: string;
  /** cluster.servers. */
  natsUrl: string;
  /** cluster.stream; the default is the spec's COMMONS. */
  stream?: string;
  /** relay.trusted_proxies (a proxy in front of the nodes). */
  trustedProxies?: readonly string[];
  /** More top-level YAML appended to the config (sections not written here). */
  extraYaml?: string;
  /** false: write the config and choose the port, but leave starting to `start()`. */
  startNow?: boolean;
}

export interface ClusterNode {
  readonly name: string;
  readonly port: number;
  /** ws://127.0.0.1:port, the same across restarts. */
  readonly url: string;
  readonly configPath: string;
  readonly dbPath: string;
  /** Every stderr line of every run (JSON log lines), oldest first. */
  readonly log: string[];
  /** The running process, if any. */
  current(): CliRelay | undefined;
  running(): boolean;
  /** Starts the node; resolves once it logs 'relay listening'. */
  start(): Promise<void>;
  /** SIGTERM; resolves with the exit once the process has ended. */
  stop(): Promise<Exit>;
  /** SIGKILL; resolves with the exit once the process has ended. */
  kill(): Promise<Exit>;
  /** stop() if running, then start(). */
  restart(): Promise<void>;
  /** SIGSTOP: the process stays, its sockets open, but it does nothing (kill() still ends it). */
  freeze(): void;
}

/** The YAML config of one cluster node. */
export function clusterNodeYaml(options: {
  name: string;
  port: number;
  dbPath: string;
  natsUrl: string;
  stream?: string;
  trustedProxies?: readonly string[];
}): string {
  return [
    'relay:',
    '  host: 127.0.0.1',
    `  port: ${options.port}`,
    `  trusted_proxies: ${JSON.stringify(options.trustedProxies ?? [])}`,
    'storage:',
    `  path: ${JSON.stringify(options.dbPath)}`,
    'logging:',
    '  format: json',
    '  level: info',
    // Every test client connects from 127.0.0.1.
    'rate_limits:',
    '  connections_per_ip: null',
    '  max_connections_per_ip: null',
    'cluster:',
    '  enabled: true',
    `  node: ${options.name}`,
    `  servers: [${JSON.stringify(options.natsUrl)}]`,
    `  stream: ${options.stream ?? 'COMMONS'}`,
    '',
  ].join('\n');
}

/** Writes the node's folder and config, then starts it. */
export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const dir = join(options.parentDir, options.name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const dbPath = join(dir, 'relay.sqlite');
  const configPath = join(dir, 'relay.yaml');
  writeFileSync(configPath, clusterNodeYaml({ ...options, port, dbPath }) + (options.extraYaml ?? ''));
  const log: string[] = [];
  let relay: CliRelay | undefined;

  const running = (): boolean => relay !== undefined && relay.child.exitCode === null && relay.child.signalCode === null;

  async function start(): Promise<void> {
    if (running()) throw new Error(`node ${options.name} is already running`);
    try {
      relay = await startCliRelay({ config: configPath, startTimeoutMs: START_TIMEOUT_MS, onStderrLine: (line) => log.push(line) });
    } catch (error) {
      throw new Error(`node ${options.name}: ${(error as Error).message}`);
    }
  }

  async function end(signal: NodeJS.Signals): Promise<Exit> {
    if (relay === undefined) throw new Error(`node ${options.name} was never started`);
    if (running()) relay.child.kill(signal);
    return relay.waitExit(EXIT_TIMEOUT_MS);
  }

  const node: ClusterNode = {
    name: options.name,
    port,
    url: `ws://127.0.0.1:${port}`,
    configPath,
    dbPath,
    log,
    current: () => relay,
    running,
    start,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    freeze: () => {
      if (!running()) throw new Error(`node ${options.name} is not running`);
      relay!.child.kill('SIGSTOP');
    },
    restart: async () => {
      if (running()) await end('SIGTERM');
      await start();
    },
  };
  if (options.startNow ?? true) await start();
  return node;
}

/** SIGKILLs every node still running (test clean-up). */
export async function killAll(nodes: readonly ClusterNode[]): Promise<void> {
  await Promise.all(nodes.filter((node) => node.running()).map((node) => node.kill()));
}

/** The ids `commons export --config` prints for the node's database (it may be running: WAL readers do not block). */
export async function exportedIds(node: ClusterNode, filter?: object): Promise<Set<string>> {
  const args = ['export', '--config', node.configPath, ...(filter === undefined ? [] : ['--filter', JSON.stringify(filter)])];
  const run = await runCommand(args, '', 120_000);
  if (run.code !== 0) throw new Error(`commons ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  const ids = new Set<string>();
  for (const line of run.stdout.split('\n')) if (line !== '') ids.add((JSON.parse(line) as { id: string }).id);
  return ids;
}

/** The last `count` log lines of a node, for a failure message. */
export function logTail(node: ClusterNode, count = 30): string {
  return `${node.name}:\n${node.log.slice(-count).join('\n')}`;
}
