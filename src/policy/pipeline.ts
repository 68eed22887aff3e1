/**
 * Policies: small pure functions `(event, ctx) => Rejection | undefined`, built once from the config by
 * factories (src/policy/write.ts), run in order; the first rejection wins.
 */
import type { NostrEvent } from '../event/types.js';
import type { Rejection } from '../protocol/prefixes.js';

export interface PolicyContext {
  /** The relay's clock, in seconds. */
  now: number;
}

export type PolicyCheck = (event: NostrEvent, ctx: PolicyContext) => Rejection | undefined;

/** One rule: a name an operator recognises (the config key it comes from) and its check. */
export interface Policy {
  readonly name: string;
  readonly check: PolicyCheck;
}

export type Pipeline = readonly Policy[];

export const policy = (name: string, check: PolicyCheck): Policy => Object.freeze({ name, check });

/** The first rejection, in pipeline order; undefined = every rule let the event through. */
export function runPolicies(pipeline: Pipeline, event: NostrEvent, ctx: PolicyContext): Rejection | undefined {
  for (const rule of pipeline) {
    const rejection = rule.check(event, ctx);
    if (rejection !== undefined) return rejection;
  }
  return undefined;
}

export interface PolicyVerdict {
  name: string;
  /** undefined = passed. */
  rejection: Rejection | undefined;
  /**
   * false for rules after the first rejection: the relay stops there, so they did not decide anything;
   * their verdict is still shown (every rule is pure, so asking costs nothing).
   */
  reached: boolean;
}

/** Every rule with its verdict, for `commons explain`. */
export function explainPolicies(pipeline: Pipeline, event: NostrEvent, ctx: PolicyContext): PolicyVerdict[] {
  let reached = true;
  return pipeline.map((rule) => {
    const verdict: PolicyVerdict = { name: rule.name, rejection: rule.check(event, ctx), reached };
    if (verdict.rejection !== undefined) reached = false;
    return verdict;
  });
}
