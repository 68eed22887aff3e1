/**
 * NIP-77 responder cost: building the (created_at, id) set from SQLite and answering a full sync
 * against nostr-tools' initiator, for N stored events with `diff` differing on each side.
 * Run: npx tsx bench/nip77.ts [N=50000] [diff=3000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nip77 as nt } from 'nostr-tools';
import { computeId, serialize } from '../src/event/validate.js';
import type { NostrEvent } from '../src/event/types.js';
import { NegStorageBuilder, reconcile } from '../src/nips/nip77.js';
import { EventStore } from '../src/store/store.js';

const n = Number(process.argv[2] ?? 50_000);
const diff = Number(process.argv[3] ?? 3_000);
const dir = mkdtempSync(join(tmpdir(), 'commons-bench-nip77-'));
const store = EventStore.open(join(dir, 'bench.sqlite'), { synchronous: 'normal' });
const fake = (i: number, label: string): NostrEvent => {
  const e: NostrEvent = {
    id: '',
    pubkey: 'f'.repeat(64),
    created_at: 1_700_000_000 + (i % 10_000),
    kind: 1,
    tags: [],
    content: `${label} ${i}`,
    sig: '0'.repeat(128),
  };
  e.id = computeId(e);
  return e;
};
const relay = Array.from({ length: n }, (_, i) => fake(i, 'r'));
for (let i = 0; i < relay.length; i += 5000) store.writeBatch(relay.slice(i, i + 5000).map((event) => ({ event, json: serialize(event) })));
const client = [...relay.slice(diff), ...Array.from({ length: diff }, (_, i) => fake(i, 'c'))];

// The rows are streamed into the set: reading and building are one step.
let t = performance.now();
const builder = new NegStorageBuilder();
for (const [createdAt, idHex] of store.negentropyKeys({ tags: [], kinds: new Set([1]), limit: 0 }, 1_800_000_000))
  builder.add(createdAt, idHex);
const storage = builder.finish();
const tBuild = performance.now() - t;

const vector = new nt.NegentropyStorageVector();
for (const e of client) vector.insert(e.created_at, e.id);
vector.seal();
const neg = new nt.Negentropy(vector, 60_000);
let message: string | null = neg.initiate();
let serverMs = 0;
let rounds = 0;
let need = 0;
let have = 0;
t = performance.now();
while (message !== null) {
  const s = performance.now();
  const reply = reconcile(storage, message, 65_000);
  serverMs += performance.now() - s;
  rounds++;
  message = neg.reconcile(
    reply.message,
    () => have++,
    () => need++,
  );
}
const total = performance.now() - t;
console.log(
  `N=${n} diff=${diff}: query and set build ${tBuild.toFixed(0)} ms, ` +
    `${rounds} rounds, responder ${serverMs.toFixed(0)} ms, nostr-tools initiator ${(total - serverMs).toFixed(0)} ms; need ${need} have ${have}`,
);
store.close();
rmSync(dir, { recursive: true, force: true });
