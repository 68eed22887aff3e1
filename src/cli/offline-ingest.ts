import type { Config } from '../config/types.js';
import { unixNow } from '../event/clock.js';
import { createVerifier } from '../event/verify-pool.js';
import { thisRelay } from '../nips/nip62.js';
import { writePolicies } from '../policy/write.js';
import type { IngestDeps } from '../relay/ingest.js';
import { BatchWriter } from '../relay/writer.js';
import { EventStore } from '../store/store.js';
import { WriterThread } from '../store/writer-thread.js';

export interface OfflineIngest {
  store: EventStore;
  /** The relay's ingest rules, for events that arrive without a connection (import, sync). */
  deps: IngestDeps;
  /** Waits for queued writes, then closes the store and the verifier. */
  close(): Promise<void>;
}

/** Opens the store and builds the same ingest path the relay uses, for the CLI commands that write. */
export function openOfflineIngest(config: Config, batchSize = 1000): OfflineIngest {
  const store = EventStore.open(config.storage.path, { synchronous: config.storage.synchronous });
  // storage.writer_thread as in the relay: the writer thread commits one batch while this thread parses,
  // hashes and checks the next and the pool verifies its signatures.
  const location = store.location;
  const thread = config.storage.writer_thread && location !== undefined ? new WriterThread(location) : undefined;
  const writer = new BatchWriter(thread ? (items) => thread.write(items) : (items) => store.commit(items), () => {}, batchSize);
  const verifier = createVerifier(config.verify.workers, config.verify.implementation);
  const deps: IngestDeps = {
    limits: config.limits,
    verifier,
    isStored: (id) => store.has(id),
    write: (item) => writer.write(item),
    now: unixNow,
    policies: writePolicies(config),
    // NIP-62: no connection, so a kind 62 names this relay only through relay.url (or ALL_RELAYS).
    isThisRelay: thisRelay(config.relay.url, ''),
  };
  return {
    store,
    deps,
    close: async () => {
      try {
        await writer.drain();
        await thread?.close();
      } finally {
        store.close();
        await verifier.close?.();
      }
    },
  };
}
