import type { Parser } from './values.js';

/** Human durations in the config: `30s`, `5m`, `12h`, `90d`, `2w`, `1y` (a year is 365 days). */
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
const DURATION = /^(\d+)\s*([smhdwy])$/;

/** A schema `Parser`: seconds, or the reason the value is not a duration. */
export function parseDuration(value: unknown): { ok: true; value: number } | { ok: false; reason: string } {
  if (typeof value !== 'string') return { ok: false, reason: `expected a duration such as "90d" or "12h", got ${JSON.stringify(value)}` };
  const match = DURATION.exec(value.trim());
  if (!match) return { ok: false, reason: `"${value}" is not a duration: write a whole number and a unit (s, m, h, d, w, y), e.g. "90d"` };
  return { ok: true, value: Number(match[1]) * UNIT_SECONDS[match[2]!]! };
}

/** A schema `Parser` for a duration of at least `minSeconds` ("1m" for 60). */
export function parseDurationAtLeast(minSeconds: number): Parser<number> {
  return (value) => {
    const parsed = parseDuration(value);
    if (!parsed.ok || parsed.value >= minSeconds) return parsed;
    return { ok: false, reason: `"${String(value)}" is shorter than the shortest allowed, ${formatDuration(minSeconds)}` };
  };
}

export function formatDuration(seconds: number): string {
  for (const unit of ['y', 'w', 'd', 'h', 'm'] as const) {
    const size = UNIT_SECONDS[unit]!;
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
