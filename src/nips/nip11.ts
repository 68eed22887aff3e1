import type { Config } from '../config/types.js';
import { defaultLimit } from '../filter/compile.js';
import { restrictsWrites } from '../policy/write.js';
import { restrictsByGeohash } from '../policy/geohash.js';
import { supportedNips } from './registry.js';
import { SOFTWARE_URL, VERSION } from '../version.js';
import type { Fee } from './nip11-fees.js';

/**
 * NIP-11 relay information document: operator fields from config, limits from the enforced values. Only
 * fields of the current text: retention and posting rules are told in plain words on the page instead.
 */
/**
 * Cluster mode (not in NIP-11; our own field): this node's name and how the others are — healthy when it
 * answered the last status request connected to NATS; lag = stream messages it has not applied yet.
 */
export interface ClusterInformation {
  node: string;
  peers: readonly { node: string; healthy: boolean; lag: number | null }[];
}

export function relayInformation(config: Config, cluster?: ClusterInformation): Record<string, unknown> {
  const { info, limits } = config;
  const optional = (value: string): string | undefined => (value === '' ? undefined : value);
  return {
    name: info.name,
    description: info.description,
    pubkey: optional(info.pubkey),
    self: optional(info.self),
    contact: optional(info.contact),
    icon: optional(info.icon),
    banner: optional(info.banner),
    terms_of_service: optional(info.terms_of_service),
    supported_nips: supportedNips(config),
    software: SOFTWARE_URL,
    version: VERSION,
    payments_url: optional(info.payments_url),
    fees: feesOf(info.fees),
    limitation: {
      max_message_length: limits.max_message_bytes,
      max_subscriptions: limits.max_subscriptions,
      max_filters: limits.max_filters,
      max_filter_values: limits.max_filter_values,
      max_limit: limits.max_limit,
      default_limit: defaultLimit(limits),
      max_subid_length: limits.max_subid_length,
      max_event_tags: limits.max_event_tags,
      max_content_length: limits.max_content_length,
      created_at_lower_limit: limits.created_at.max_past_seconds ?? undefined,
      created_at_upper_limit: limits.created_at.max_future_seconds ?? undefined,
      min_pow_difficulty: config.write.min_pow,
      // Private mode (read.private): reading at all needs AUTH as a member.
      auth_required: config.read.private,
      payment_required: false,
      restricted_writes: restrictsWrites(config.write) || config.members.enabled || restrictsByGeohash(config.scopes.geohash),
    },
    cluster,
  };
}

/** NIP-11 `fees`: the lists that are not empty; undefined when all are. */
function feesOf(fees: Config['info']['fees']): Record<string, readonly Fee[]> | undefined {
  const listed = Object.entries(fees).filter(([, list]) => list.length > 0);
  return listed.length === 0 ? undefined : Object.fromEntries(listed);
}
