/**
 * CPU of reading a stored answer and sending it over a real uWS socket, two ways, in this process:
 * `strings` (store.answer: one JavaScript string per event, each frame a string uWS encodes to UTF-8) and
 * `frames` (store.answerFrames: SQLite builds every frame into one buffer; the socket sends views of it).
 * The client is a `ws` socket in a child process that reads and drops everything, so this process's CPU
 * (process.cpuUsage) is the store's and the sender's alone. Rounds alternate the two ways.
 *
 *   npx tsx bench/query-db.ts 200000
 *   npx tsx bench/answer-send.ts --db bench/.cache/query-v8-200000.sqlite [--answers 2000] [--limit 80] [--rounds 3]
 */
import { fork } from 'node:child_process';
import Database from 'better-sqlite3';
import { parseArgs } from 'node:util';
import { compileFilter, type CompiledFilter } from '../src/filter/compile.js';
import { loadNativeUws } from '../src/server/choose.js';
import { EventStore } from '../src/store/store.js';
import type { PackedAnswer, StoredAnswer } from '../src/store/stored-answer.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string' },
    answers: { type: 'string', default: '2000' },
    limit: { type: 'string', default: '80' },
    rounds: { type: 'string', default: '3' },
    child: { type: 'string' },
  },
});

if (args.child !== undefined) {
  // The client: reads every frame and drops it.
  const { default: WebSocket } = await import('ws');
  const socket = new WebSocket(args.child);
  socket.on('message', () => {});
  socket.on('error', () => process.exit(1));
} else {
  await main();
}

async function main(): Promise<void> {
  if (!args.db) throw new Error('--db <query database> is required (bench/query-db.ts)');
  const uws = loadNativeUws().module;
  if (!uws) throw new Error('the native uWS build does not load here');
  const store = EventStore.open(args.db, { synchronous: 'normal' });
  const answers = Number(args.answers);
  const limits = { max_filter_values: 100, max_limit: 500, default_limit: 100 };
  // A window that moves over the stored time range, so each answer reads other rows.
  const meta = new Database(args.db, { readonly: true });
  const range = meta.prepare('SELECT min(created_at), max(created_at) FROM events').raw(true).get() as [number, number];
  meta.close();
  const span = Math.max(1, range[1] - range[0]);
  const filterAt = (i: number): CompiledFilter =>
    compileFilter({ kinds: [1], until: range[1] - ((i * 7919 * 97) % span), limit: Number(args.limit) }, limits) as CompiledFilter;
  const prefix = '["EVENT","bench",';

  type Socket = { send(data: string | Uint8Array, binary: boolean): number; cork(f: () => void): void; getBufferedAmount(): number };
  const ways: Record<string, (socket: Socket, filter: CompiledFilter) => number> = {
    strings: (socket, filter) => {
      const { events }: StoredAnswer = store.answer([filter]);
      socket.cork(() => {
        for (const json of events) socket.send(`${prefix}${json}]`, false);
      });
      return events.length;
    },
    frames: (socket, filter) => {
      const answer = store.answerFrames([filter], Math.floor(Date.now() / 1000), prefix) as PackedAnswer;
      socket.cork(() => {
        let start = 0;
        for (const end of answer.ends) {
          socket.send(answer.frames.subarray(start, end), false);
          start = end;
        }
      });
      return answer.ends.length;
    },
  };

  const app = uws.App();
  const results: Record<string, { micros: number[]; events: number }> = {};
  const done = new Promise<void>((resolve) => {
    app.ws('/', {
      maxBackpressure: 1 << 30,
      maxPayloadLength: 1 << 20,
      open: (socket: Socket) => {
        void (async () => {
          for (let round = 0; round < Number(args.rounds); round++) {
            for (const [name, way] of Object.entries(ways)) {
              let events = 0;
              const before = process.cpuUsage();
              for (let i = 0; i < answers; i++) {
                events += way(socket, filterAt(i));
                // Let uWS write to the client; bounded, never a wait on time alone.
                if (i % 50 === 49) await new Promise((next) => setImmediate(next));
                for (let waits = 0; socket.getBufferedAmount() > 8 << 20 && waits < 10_000; waits++)
                  await new Promise((next) => setTimeout(next, 1));
              }
              const used = process.cpuUsage(before);
              const result = (results[name] ??= { micros: [], events: 0 });
              result.micros.push(Math.round((used.user + used.system) / answers));
              result.events = events / answers;
            }
          }
          resolve();
        })();
      },
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    app.listen('127.0.0.1', 0, (token: unknown) =>
      token ? resolve(uws.us_socket_local_port(token as never)) : reject(new Error('could not listen')),
    );
  });
  const client = fork(new URL(import.meta.url).pathname, ['--child', `ws://127.0.0.1:${port}/`], { execArgv: process.execArgv });
  await done;
  client.kill();
  app.close();
  store.close();
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  const base = median(results.strings!.micros);
  for (const [name, { micros, events }] of Object.entries(results)) {
    console.log(
      `${name.padEnd(8)} ${micros.join(' / ')} µs CPU per answer of ${events.toFixed(0)} events (median ${median(micros)}, ${(median(micros) / base).toFixed(2)}×)`,
    );
  }
}
