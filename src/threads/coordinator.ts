import type { Worker } from 'node:worker_threads';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { WriterThread } from '../store/writer-thread.js';
import { startWorker } from '../worker/start.js';
import type { ConnectionThreadData, FromConnectionThread, ToConnectionThread } from './messages.js';
import type { ThreadSharedState } from './shared-state.js';

/** How long a connection thread may take to drain and stop before it is terminated. */
const STOP_TIMEOUT_MS = 30_000;

/** The connection threads beside the main thread (server.threads − 1 of them). */
export interface ConnectionThreads {
  readonly count: number;
  /** A hot reload applied by the main thread, for every other thread to apply. */
  reload(config: Config): void;
  /** A site's NIP-86 state changed in thread `from` (0 = the main thread): every other thread re-reads it. */
  managementChanged(site: number, from: number): void;
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
  /** A thread's NIP-86 change, for the main thread to apply (it then calls managementChanged). */
  onManagementChanged(site: number, from: number): void;
}

/** Writes a connection thread's log line with the coordinator's logger (its level, format and destination). */
export function relog(log: Logger, line: string): void {
  const { level, time: _time, msg, ...fields } = JSON.parse(line) as { level: number; time?: number; msg?: string };
  const name = log.levels.labels[level] as 'info' | undefined;
  if (name !== undefined && name in log) log[name](fields, msg);
}

/** Starts the connection threads and waits until each listens; if one fails, stops the others and throws. */
export async function startConnectionThreads(start: ThreadStart): Promise<ConnectionThreads> {
  const workers: Worker[] = [];
  const stopped = new Map<Worker, Promise<void>>();
  const send = (worker: Worker, message: ToConnectionThread): void => worker.postMessage(message);

  const launch = (index: number): Promise<Worker> => {
    const writer = WriterThread.openChannel();
    const workerData: ConnectionThreadData = { index, config: start.config, shared: start.shared, writer, logLevel: start.log.level };
    const worker = startWorker('connection-thread', import.meta.url, { name: `connections-${index}`, workerData, transferList: [writer] });
    workers.push(worker);
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    stopped.set(worker, exited);
    return new Promise((resolve, reject) => {
      worker.on('message', (message: FromConnectionThread) => {
        switch (message.type) {
          case 'listening':
            return resolve(worker);
          case 'failed':
            return reject(new Error(`connection thread ${index}: ${message.message}`));
          case 'management-changed':
            return start.onManagementChanged(message.site, index);
          case 'log':
            return relog(start.log, message.line);
        }
      });
      worker.once('error', (error) => {
        start.log.error({ err: error, thread: index }, 'connection thread failed');
        reject(error);
      });
      void exited.then(() => reject(new Error(`connection thread ${index} exited before it listened`)));
    });
  };

  const stopAll = async (): Promise<void> => {
    await Promise.all(
      workers.map(async (worker) => {
        send(worker, { type: 'stop' });
        const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
        await stopped.get(worker);
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
    reload: (config) => {
      for (const worker of workers) send(worker, { type: 'reload', config });
    },
    managementChanged: (site, from) => {
      workers.forEach((worker, i) => {
        if (i + 1 !== from) send(worker, { type: 'management-changed', site });
      });
    },
    stop: stopAll,
  };
}
