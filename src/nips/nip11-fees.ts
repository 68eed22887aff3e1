/**
 * NIP-11 `fees`: what the operator asks people to pay (`info.fees.admission`, `.subscription`,
 * `.publication`). The relay publishes them and shows them on its page; it takes no payment itself.
 */
import { parseDuration } from '../config/duration.js';
import { closest, describeValue, type Parser } from '../config/values.js';

/** One fee as NIP-11 writes it: `period` in seconds (subscriptions), `kinds` (publication fees). */
export interface Fee {
  readonly amount: number;
  readonly unit: string;
  readonly period?: number;
  readonly kinds?: readonly number[];
}

type Result<V> = ReturnType<Parser<V>>;

const FIELDS = ['amount', 'unit', 'period', 'kinds'];
const EXAMPLE = 'e.g. [{ amount: 1000000, unit: msats }] or [{ amount: 5000000, unit: msats, period: 30d }]';

const fail = (reason: string, at: string): Result<Fee[]> => ({ ok: false, reason, at });
const isKind = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535;

/** A schema `Parser` for one list of fees; `period` is a duration ("30d") or whole seconds. */
export const parseFeeList: Parser<Fee[]> = (value) => {
  if (!Array.isArray(value)) return { ok: false, reason: `expected a list of fees, ${EXAMPLE}; got ${describeValue(value)}` };
  const fees: Fee[] = [];
  for (const [i, item] of (value as unknown[]).entries()) {
    const at = `[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return fail(`expected a fee, ${EXAMPLE}`, at);
    const fields = item as Record<string, unknown>;
    const unknown = Object.keys(fields).find((name) => !FIELDS.includes(name));
    if (unknown !== undefined) {
      const hint = closest(unknown, FIELDS);
      return fail(`unknown field${hint ? ` (did you mean "${hint}"?)` : ''}`, `${at}.${unknown}`);
    }
    const { amount, unit, period, kinds } = fields;
    if (!Number.isInteger(amount) || (amount as number) < 0)
      return fail(`expected a whole number ≥ 0, got ${describeValue(amount)}`, `${at}.amount`);
    if (typeof unit !== 'string' || unit.trim() === '')
      return fail(`expected a unit such as msats, got ${describeValue(unit)}`, `${at}.unit`);
    const fee: { amount: number; unit: string; period?: number; kinds?: number[] } = { amount: amount as number, unit: unit.trim() };
    if (period !== undefined) {
      const seconds = Number.isInteger(period) ? { ok: true as const, value: period as number } : parseDuration(period);
      if (!seconds.ok || seconds.value <= 0) return fail(`expected a duration such as 30d, got ${describeValue(period)}`, `${at}.period`);
      fee.period = seconds.value;
    }
    if (kinds !== undefined) {
      if (!Array.isArray(kinds) || !kinds.every(isKind)) return fail('expected a list of kinds (0–65535), e.g. [4]', `${at}.kinds`);
      fee.kinds = [...kinds];
    }
    fees.push(fee);
  }
  return { ok: true, value: fees };
};
