import type { MessagePort, Worker } from 'node:worker_threads';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { WriterThread } from '../store/writer-thread.js';
import { startWorker } from '../worker/start.js';
import type { ConnectionThreadData, FromConnectionThread, ToConnectionThread } from './messages.js';
import { releaseThreadRow, type ThreadSharedState } from './shared-state.js';

/** How long a connection thread may take to drain and stop before it is terminated. */
const STOP_TIMEOUT_MS = 30_000;
/**
 * A connection thread that dies is started again, at most this many times per thread within
 * RESTART_WINDOW_MS; one that dies more often than that (a fault it meets at once, every time) stays down
 * and the relay serves on the others.
 */
export const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/** The connection threads beside the main thread (server.threads − 1 of them). */
export interface ConnectionThreads {
  readonly count: number;
  /** Threads started again after they died. */
  readonly restarts: number;
  /** A hot reload applied by the main thread, for every other thread to apply. */
  reload(config: Config): void;
  /** Resolves once every thread running has applied the reloads sent so far. */
  reloaded(): Promise<void>;
  /** A site's NIP-86 state changed in thread `from` (0 = the main thread): every other thread re-reads it. */
  managementChanged(site: number, from: number): void;
  /** The worker that runs row `index` now; undefined while it is down (tests make one fail through it). */
  worker(index: number): Worker | undefined;
  /** Asks every thread to stop listening, answer what is under way and close; resolves when they have. */
  stop(): Promise<void>;
}

export interface ThreadStart {
  /** Threads to start beside the main thread. */
  count: number;
  /** The config, relay.port set to the port the main thread listens on. */
  config: Config;
  shared: ThreadSharedState;
  log: Logger;
  /** Whether a reload sets the log level from `logging.level` (RelayOptions.logLevelFromConfig). */
  logLevelFromConfig: boolean;
  /** A thread's NIP-86 change, for the main thread to apply (it then calls managementChanged). */
  onManagementChanged(site: number, from: number): void;
  /** A port to the main thread's query reader `index` of site `site` (Relay.readerPort), for a thread that asks. */
  readerPort(site: number, index: number): MessagePort | undefined;
}

/** Writes a connection thread's log line with the coordinator's logger (its level, format and destination). */
export function relog(log: Logger, line: string): void {
  const { level, time: _time, msg, ...fields } = JSON.parse(line) as { level: number; time?: number; msg?: string };
  const name = log.levels.labels[level] as 'info' | undefined;
  if (name !== undefined && name in log) log[name](fields, msg);
}

interface Running {
  worker: Worker;
  exited: Promise<void>;
  /** Reloads it has applied (the coordinator's count when it started, then one per 'reloaded'). */
  reloads: number;
}

/**
 * Starts the connection threads and waits until each listens; if one fails, stops the others and throws.
 * A thread that exits while the relay is not stopping is logged, its row of the shared cells released and
 * a new thread started in its place (same row), with the last reload applied.
 */
export async function startConnectionThreads(start: ThreadStart): Promise<ConnectionThreads> {
  const running = new Map<number, Running>();
  const restartedAt = new Map<number, number[]>();
  let restarts = 0;
  let stopping = false;
  let reloads = 0;
  let lastReload: Config | undefined;
  let waiting: { reloads: number; resolve: () => void }[] = [];
  const send = (worker: Worker, message: ToConnectionThread): void => worker.postMessage(message);

  const settleReloads = (): void => {
    const everywhere = Math.min(...[...running.values()].map((thread) => thread.reloads));
    for (const wait of waiting) if (wait.reloads <= everywhere) wait.resolve();
    waiting = waiting.filter((wait) => wait.reloads > everywhere);
  };

  /** Starts the thread of row `index`; resolves when it listens. `again`: it replaces one that died. */
  const launch = (index: number, again = false): Promise<void> => {
    const writer = WriterThread.openChannel();
    const workerData: ConnectionThreadData = {
      index,
      threads: start.count + 1,
      config: start.config,
      reload: lastReload,
      shared: start.shared,
      writer,
      logLevel: start.log.level,
      logLevelFromConfig: start.logLevelFromConfig,
    };
    const worker = startWorker('connection-thread', import.meta.url, { name: `connections-${index}`, workerData, transferList: [writer] });
    const thread: Running = { worker, exited: new Promise((resolve) => worker.once('exit', () => resolve())), reloads };
    running.set(index, thread);
    let listening = false;
    return new Promise((resolve, reject) => {
      worker.on('message', (message: FromConnectionThread) => {
        switch (message.type) {
          case 'listening':
            listening = true;
            return resolve();
          case 'failed':
            return reject(new Error(`connection thread ${index}: ${message.message}`));
          case 'reloaded':
            thread.reloads++;
            return settleReloads();
          case 'management-changed':
            return start.onManagementChanged(message.site, index);
          case 'reader': {
            // Also while stopping: the main thread's readers close after every thread has drained.
            const port = start.readerPort(message.site, message.index);
            const reply: ToConnectionThread = { type: 'reader', site: message.site, index: message.index, port };
            return worker.postMessage(reply, port ? [port] : []);
          }
          case 'log':
            return relog(start.log, message.line);
        }
      });
      worker.once('error', (error) => {
        start.log.error({ err: error, thread: index }, 'connection thread failed');
        reject(error);
      });
      worker.once('exit', (code) => {
        running.delete(index);
        settleReloads();
        reject(new Error(`connection thread ${index} exited before it listened`));
        if ((listening || again) && !stopping) died(index, code);
      });
    });
  };

  const died = (index: number, code: number): void => {
    releaseThreadRow(start.shared, index);
    const now = Date.now();
    const recent = (restartedAt.get(index) ?? []).filter((at) => now - at < RESTART_WINDOW_MS);
    if (recent.length >= MAX_RESTARTS) {
      start.log.error(
        { thread: index, code },
        `connection thread ${index} exited again after ${MAX_RESTARTS} restarts within a minute; it stays down and the other threads serve (restart the relay)`,
      );
      return;
    }
    restartedAt.set(index, [...recent, now]);
    restarts++;
    start.log.error({ thread: index, code }, `connection thread ${index} exited unexpectedly (code ${code}); starting it again`);
    // A restart that fails exits too, and comes back here.
    launch(index, true).then(
      () => start.log.info({ thread: index }, 'connection thread started again'),
      (error: unknown) => start.log.error({ err: error, thread: index }, 'connection thread could not start again'),
    );
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    await Promise.all(
      [...running.values()].map(async ({ worker, exited }) => {
        send(worker, { type: 'stop' });
        const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  };

  try {
    for (let index = 1; index <= start.count; index++) await launch(index);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    count: start.count,
    get restarts() {
      return restarts;
    },
    reload: (config) => {
      reloads++;
      lastReload = config;
      for (const { worker } of running.values()) send(worker, { type: 'reload', config });
    },
    reloaded: () =>
      new Promise((resolve) => {
        waiting.push({ reloads, resolve });
        settleReloads();
      }),
    managementChanged: (site, from) => {
      for (const [index, { worker }] of running) if (index !== from) send(worker, { type: 'management-changed', site });
    },
    worker: (index) => running.get(index)?.worker,
    stop: stopAll,
  };
}
