/**
 * The one vocabulary of machine-readable reply prefixes (NIP-01, NIP-42).
 * Every OK / CLOSED / NEG-ERR message is built with `reason()` so a message always starts with one of these.
 */
export const PREFIXES = [
  'duplicate',
  'pow',
  'blocked',
  'rate-limited',
  'invalid',
  'restricted',
  'mute',
  'error',
  'auth-required',
  'unsupported',
  'closed',
] as const;

export type Prefix = (typeof PREFIXES)[number];

export function reason(prefix: Prefix, text: string): string {
  return `${prefix}: ${text}`;
}

/** A refusal carried as a value rather than thrown. */
export interface Rejection {
  prefix: Prefix;
  text: string;
}

export const reject = (prefix: Prefix, text: string): Rejection => ({ prefix, text });
export const rejectionMessage = (r: Rejection): string => reason(r.prefix, r.text);
