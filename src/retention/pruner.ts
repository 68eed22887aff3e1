/**
 * The background pruner: a retention pass every `intervalMs`, off the event loop.
 *
 * A store backed by a file is pruned by a worker thread, started for each pass and stopped after it, with
 * its own connection to the same WAL database (prune-worker.ts): candidate selection, the count walk and
 * every delete transaction run there. The writer (a thread of its own by default, storage.writer_thread)
 * only ever waits for one short delete transaction (busy_timeout) when it commits at the same moment. A
 * ':memory:' store cannot be shared, so it is pruned on the event loop, one bounded step per setImmediate.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { StoreLocation } from '../store/store.js';
import { startWorker } from '../worker/start.js';
import { DEFAULT_BATCH, deletedIn, drivePass, type PassResult, type PruneStore } from './pass.js';
import type { Retention, RetentionRule } from './rules.js';
import type { FromPruneWorker, PassRequest } from './prune-worker.js';

export * from './pass.js';

export interface BackgroundStore extends PruneStore {
  /** The database file, when there is one: then passes run in a worker thread. */
  readonly location?: StoreLocation | undefined;
}

interface WorkerPass {
  resolve(result: PassResult): void;
  reject(error: Error): void;
}

export class Pruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PassResult> | undefined;
  private stopped = false;
  private worker: Worker | undefined;
  private workerPass: WorkerPass | undefined;
  /** Adaptive rows per step (see drivePass), kept across passes (the worker's is handed back after each). */
  private readonly state = { batch: 50 };
  /** Called with what each pass deleted (GET /metrics). */
  onPass: (report: PassResult) => void = () => {};

  constructor(
    private readonly store: BackgroundStore,
    private readonly retention: () => Retention,
    private readonly now: () => number,
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly maxBatch: number = DEFAULT_BATCH,
    private readonly targetStepMs: number = 5,
    /** false: always on the event loop (the old way; bench/prune.ts compares both). */
    private readonly useWorker: boolean = true,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.run().catch(() => {}); // logged in run()
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Starts a pass (or returns the one under way); resolves with what it deleted, once it is done. */
  run(): Promise<PassResult> {
    this.running ??= this.pass()
      .then((result) => {
        this.onPass(result);
        const deleted = deletedIn(result);
        const longestStepMs = Math.round(result.longestStepMs * 10) / 10;
        if (deleted > 0) this.log.info({ deleted, expired: result.expired, rules: result.rules, longestStepMs }, 'pruned');
        return result;
      })
      .catch((error: unknown) => {
        this.log.error({ err: error }, 'error while pruning');
        throw error;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * No new passes after this; a pass under way stops at its next step. Resolves once the worker has
   * closed its connection (await it before closing the store).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'stop' });
    await exited;
  }

  private pass(): Promise<PassResult> {
    const retention = this.retention();
    const now = this.now();
    const location = this.store.location;
    if (this.stopped) return Promise.resolve({ expired: 0, rules: [], longestStepMs: 0, steps: 0 });
    if (location === undefined || !this.useWorker) {
      return drivePass(this.store, retention, now, {
        maxBatch: this.maxBatch,
        targetStepMs: this.targetStepMs,
        state: this.state,
        pause: () => new Promise((resolve) => setImmediate(resolve)),
        stopped: () => this.stopped,
      });
    }
    const worker = (this.worker ??= this.spawn(location));
    return new Promise<PassResult>((resolve, reject) => {
      this.workerPass = { resolve, reject };
      const request: PassRequest = {
        type: 'pass',
        now,
        rules: retention.rules.map(plainRule),
        maxBatch: this.maxBatch,
        targetStepMs: this.targetStepMs,
        batch: this.state.batch,
      };
      worker.postMessage(request);
    });
  }

  private spawn(location: StoreLocation): Worker {
    const worker = startWorker('prune-worker', import.meta.url, { name: 'pruner', workerData: location });
    worker.unref();
    const settle = (error: Error | undefined, result?: PassResult): void => {
      const pass = this.workerPass;
      this.workerPass = undefined;
      if (error) pass?.reject(error);
      else pass?.resolve(result!);
    };
    let retired = false;
    worker.on('message', (message: FromPruneWorker) => {
      // One thread per pass: between passes (a minute apart) a site holds no thread. With many virtual
      // hosts that is many idle threads fewer; starting one costs a few ms once a minute.
      retired = true;
      if (this.worker === worker) this.worker = undefined;
      worker.postMessage({ type: 'stop' });
      if (message.type === 'done') {
        this.state.batch = message.batch;
        settle(undefined, message.result);
      } else settle(Object.assign(new Error(message.message), { stack: message.stack }));
    });
    worker.on('error', (error) => {
      if (!retired) settle(error);
    });
    worker.on('exit', (code) => {
      if (retired) return;
      if (this.worker === worker) this.worker = undefined; // a crash: the next pass starts another
      if (this.stopped) settle(undefined, { expired: 0, rules: [], longestStepMs: 0, steps: 0 });
      else settle(new Error(`retention pruner worker exited (code ${code})`));
    });
    return worker;
  }
}

/** A rule as configured (structured-clone safe: no compiled kind set). */
function plainRule(rule: RetentionRule): RetentionRule {
  const { kinds, max_age, max_per_pubkey, max_total, keep } = rule;
  return { kinds, max_age, max_per_pubkey, max_total, keep };
}
