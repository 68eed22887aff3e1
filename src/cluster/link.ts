import type { Worker } from 'node:worker_threads';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { WriterThread } from '../store/writer-thread.js';
import { relog } from '../threads/coordinator.js';
import { startWorker } from '../worker/start.js';
import type { ClusterSite, ClusterThreadData, FromClusterThread, ToClusterThread } from './messages.js';

/** How long the cluster thread may take to publish what waits and disconnect before it is terminated. */
const STOP_TIMEOUT_MS = 10_000;

/** Cluster mode's thread (cluster-thread.ts), seen from the main thread. */
export interface ClusterLink {
  /** Stops consuming, publishes what waits in the outbox (bounded), disconnects. Call before the sites close. */
  stop(): Promise<void>;
}

/**
 * Starts the cluster thread for `sites`. It does not wait for NATS: a node whose NATS is down serves and
 * stores as usual, and its outbox is published once NATS answers.
 */
export async function startClusterLink(cluster: Config['cluster'], sites: readonly ClusterSite[], log: Logger): Promise<ClusterLink> {
  // Woken by every commit; it reads the events from its outbox, so their JSON need not cross.
  const writer = WriterThread.openChannel(true);
  const workerData: ClusterThreadData = { cluster, sites, writer, logLevel: log.level };
  const worker: Worker = startWorker('cluster-thread', import.meta.url, { name: 'cluster', workerData, transferList: [writer] });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopped: () => void = () => {};
  const stopDone = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (message: FromClusterThread) => {
      if (message.type === 'started') resolve();
      else if (message.type === 'log') relog(log, message.line);
      else stopped();
    });
    worker.once('error', (error) => {
      log.error({ err: error }, 'cluster thread failed');
      reject(error);
    });
    void exited.then(() => reject(new Error('the cluster thread exited before it started')));
  });
  return {
    stop: async () => {
      worker.postMessage({ type: 'stop' } satisfies ToClusterThread);
      const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await Promise.race([stopDone, exited]);
      await worker.terminate();
      clearTimeout(timer);
    },
  };
}
