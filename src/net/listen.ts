/** A listen address written `host:port` (`[v6]:port` for IPv6), and its config parser (metrics.listen). */
import { describeValue, type Parser } from '../config/values.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export const LISTEN_EXAMPLE = 'host:port such as 127.0.0.1:9477 or [::1]:9477';

/** `host:port` (`[v6]:port` for IPv6) as written; undefined when it is not that. */
export function listenAddressOf(text: string): ListenAddress | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}

/** Config parser of a listen address (port 0 = a free port picked at start). */
export const parseListenAddress: Parser<string> = (value) => {
  if (typeof value !== 'string') return { ok: false, reason: `expected ${LISTEN_EXAMPLE}, got ${describeValue(value)}` };
  const text = value.trim();
  const address = listenAddressOf(text);
  if (address === undefined) {
    const bareV6 = (text.match(/:/g)?.length ?? 0) > 1 && !text.startsWith('[');
    const hint = bareV6 ? ' (write an IPv6 address in brackets)' : '';
    return { ok: false, reason: `expected ${LISTEN_EXAMPLE}${hint}, got ${describeValue(value)}` };
  }
  if (address.port > 65535) return { ok: false, reason: `the port must be from 0 to 65535, got ${address.port}` };
  return { ok: true, value: text };
};
