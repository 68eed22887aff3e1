/**
 * Signature-verification ceiling: how many events/s the reference verifier checks on one core, on
 * the bench dataset. The relay's ingest rate is read against this figure (same machine, same run).
 *
 *   npx tsx bench/verify.ts [--file bench/.cache/<dataset>.jsonl] [--count 2000]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { computeId } from '../src/event/validate.js';
import type { NostrEvent } from '../src/event/types.js';
import { NobleVerifier } from '../src/event/verify.js';

const { values } = parseArgs({ options: { file: { type: 'string' }, count: { type: 'string', default: '2000' } } });
const cacheDir = join(import.meta.dirname, '.cache');
const file = values.file ?? join(cacheDir, readdirSync(cacheDir).find((name) => name.endsWith('.jsonl')) ?? '');
const count = Number(values.count);
const events = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(1, count + 1).map((line) => JSON.parse(line) as NostrEvent);

const verifier = new NobleVerifier();
let start = performance.now();
for (const event of events) if (computeId(event) !== event.id) throw new Error(`bad id ${event.id}`);
const hashPerSecond = events.length / ((performance.now() - start) / 1000);
start = performance.now();
for (const event of events) if (!(await verifier.verify(event))) throw new Error(`bad signature ${event.id}`);
const verifyPerSecond = events.length / ((performance.now() - start) / 1000);
process.stdout.write(`events: ${events.length}\nid hash: ${Math.round(hashPerSecond)}/s\nnoble schnorr verify: ${Math.round(verifyPerSecond)}/s\n`);
