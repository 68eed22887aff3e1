import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config/types.js';
import type { ThreadSharedState } from './shared-state.js';

/** What the coordinator gives a connection thread when it starts it (workerData). */
export interface ConnectionThreadData {
  /** Its row in the shared counters (the coordinator's own thread is row 0). */
  readonly index: number;
  /** Connection threads of the process, the coordinator's included. */
  readonly threads: number;
  /** The config, relay.port set to the port the coordinator listens on. */
  readonly config: Config;
  /** The last hot reload, when one was applied since the start: a thread started again applies it before it serves. */
  readonly reload: Config | undefined;
  /** The cells every thread shares. */
  readonly shared: ThreadSharedState;
  /** Its channel to the process's writer thread (WriterThread.openChannel). */
  readonly writer: MessagePort;
  /** The coordinator's log level (a reload may have changed it since the config was read). */
  readonly logLevel: string;
  /** Whether a reload sets the log level from `logging.level` (the coordinator's logger follows the config). */
  readonly logLevelFromConfig: boolean;
}

/** Coordinator → connection thread. */
export type ToConnectionThread =
  /** A hot reload: apply it, then say 'reloaded'. */
  | { type: 'reload'; config: Config }
  /** A site's NIP-86 state changed in another thread: re-read it, close connections from IPs now blocked. */
  | { type: 'management-changed'; site: number }
  /** The port asked for with 'reader' (undefined: the main thread has no such reader, or is stopping). */
  | { type: 'reader'; site: number; index: number; port: MessagePort | undefined }
  /** Stop listening, answer what is under way, close every connection and database, then say 'stopped'. */
  | { type: 'stop' };

/** Connection thread → coordinator. */
export type FromConnectionThread =
  | { type: 'listening' }
  | { type: 'failed'; message: string }
  | { type: 'reloaded' }
  | { type: 'management-changed'; site: number }
  /** A port to query reader `index` of site `site`, which the main thread's relay starts (one set per process). */
  | { type: 'reader'; site: number; index: number }
  /** One line of its log, as JSON. */
  | { type: 'log'; line: string }
  | { type: 'stopped' };
