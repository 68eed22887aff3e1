/**
 * NIP-86 over HTTP, per site: what the listener calls for a POST on the relay URL. Before the NIP-98
 * token is checked, the request spends one token of the sender's `rate_limits.events_per_ip` budget — a
 * token costs a signature check, like an EVENT or an AUTH — and every request is logged with the client's
 * address (behind a trusted proxy, the one X-Forwarded-For names), the status and the admin and method
 * when authorised. Blocked IPs are not refused here: an admin who blocked their own address can undo it.
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { reason } from '../protocol/prefixes.js';
import type { Management, RpcHttpRequest, RpcHttpResponse } from './management.js';
import type { RateLimits } from './rate-limits.js';

export function managementPost(
  management: Management,
  rateLimits: RateLimits,
  config: () => Config,
  log: Logger,
): (request: RpcHttpRequest) => Promise<RpcHttpResponse> {
  return async (request) => {
    const { ip } = request;
    const limited = management.enabled ? rateLimits.eventFromIp(ip) : undefined;
    if (limited !== undefined) {
      const error = reason(limited.prefix, limited.text);
      log[config().logging.rejections]({ ip, reason: error }, 'management request refused');
      return { status: 429, body: JSON.stringify({ result: null, error }) };
    }
    const response = await management.handleHttp(request);
    if (response.admin === undefined) {
      log[config().logging.rejections]({ ip, status: response.status, reason: errorOf(response.body) }, 'management request refused');
    } else {
      log.info({ ip, admin: response.admin, method: methodOf(request.body) }, 'management request');
    }
    return response;
  };
}

/** The method a JSON-RPC body names, for the log ('' when it names none). */
function methodOf(body: Uint8Array): string {
  try {
    const method = (JSON.parse(Buffer.from(body).toString('utf8')) as { method?: unknown }).method;
    return typeof method === 'string' ? method.slice(0, 100) : '';
  } catch {
    return '';
  }
}

function errorOf(body: string): unknown {
  return (JSON.parse(body) as { error?: unknown }).error;
}
