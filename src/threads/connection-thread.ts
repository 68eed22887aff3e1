/**
 * A connection thread (server.threads), started by the coordinator (coordinator.ts): a relay of its own
 * on the coordinator's port (SO_REUSEPORT: the kernel spreads new connections over the threads), which
 * writes through the coordinator's writer thread and hears the other threads' commits from it.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { startRelay, type RunningRelay } from '../app.js';
import { pino } from 'pino';
import type { ConnectionThreadData, FromConnectionThread, ToConnectionThread } from './messages.js';

const port = parentPort;
if (!port) throw new Error('connection-thread must run in a worker thread');
const data = workerData as ConnectionThreadData;
const tell = (message: FromConnectionThread): void => port.postMessage(message);

// Its log lines go to the coordinator, which writes them with its own logger (one stream, one format).
const toCoordinator = { write: (line: string) => tell({ type: 'log', line }) };
const logger = pino({ level: data.logLevel, base: undefined }, toCoordinator).child({ thread: data.index });
// Ports to the main thread's query readers, asked for when a site's pool first needs one (ReaderPool.through).
const readerPorts = new Map<string, { resolve(port: MessagePort): void; reject(error: Error): void }>();
const connectReader = (site: number, index: number): Promise<MessagePort> =>
  new Promise((resolve, reject) => {
    readerPorts.set(`${site}:${index}`, { resolve, reject });
    tell({ type: 'reader', site, index });
  });
let running: RunningRelay;
try {
  running = await startRelay(data.config, {
    logger,
    logLevelFromConfig: data.logLevelFromConfig,
    connectionThread: {
      index: data.index,
      shared: data.shared,
      writer: data.writer,
      threads: data.threads,
      managementChanged: (site) => tell({ type: 'management-changed', site }),
      connectReader,
    },
  });
  // Started again after a thread died: the reloads the others applied meanwhile. No connection was
  // served yet (nothing ran on the event loop since it began to listen).
  if (data.reload !== undefined) running.reload(data.reload);
} catch (error) {
  tell({ type: 'failed', message: (error as Error).message });
  port.close();
  process.exit(1);
}
tell({ type: 'listening' });

port.on('message', (message: ToConnectionThread) => {
  switch (message.type) {
    case 'reload':
      running.reload(message.config);
      logger.debug('config reload applied');
      tell({ type: 'reloaded' });
      return;
    case 'management-changed':
      running.managementChanged(message.site);
      return;
    case 'reader': {
      const key = `${message.site}:${message.index}`;
      const asked = readerPorts.get(key);
      readerPorts.delete(key);
      if (message.port) asked?.resolve(message.port);
      else asked?.reject(new Error('the query readers are closed'));
      return;
    }
    case 'stop':
      void running.stop().finally(() => {
        tell({ type: 'stopped' });
        port.close();
      });
  }
});
