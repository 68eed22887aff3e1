import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/load.js';
import { describeRate, parseRate, TokenBuckets, type Rate } from '../../src/policy/rate-limit.js';
import { RateLimits, type RateLimitSettings } from '../../src/relay/rate-limits.js';
import { AddressSet, parseAddressList, rateKeyOf } from '../../src/net/ip.js';
import { resolveClientIp } from '../../src/server/client-ip.js';

const rate = (count: number, seconds: number): Rate => ({ count, seconds });

/** How many of `n` takes at `at` succeed. */
function takes(buckets: TokenBuckets, key: string, r: Rate, n: number, at: number): number {
  let passed = 0;
  for (let i = 0; i < n; i++) if (buckets.take(key, r, at)) passed++;
  return passed;
}

describe('token buckets', () => {
  it('allow a burst of `count`, then refuse', () => {
    const buckets = new TokenBuckets();
    expect(takes(buckets, 'a', rate(20, 10), 25, 1000)).toBe(20);
  });

  it('refill at count per period, never past the burst', () => {
    const buckets = new TokenBuckets();
    const r = rate(20, 10); // 2 tokens a second
    takes(buckets, 'a', r, 20, 0);
    expect(buckets.take('a', r, 0)).toBe(false);
    expect(takes(buckets, 'a', r, 5, 1000)).toBe(2);
    expect(takes(buckets, 'a', r, 5, 1499)).toBe(0); // 0.998 of a token: not yet
    expect(takes(buckets, 'a', r, 5, 1500)).toBe(1);
    expect(takes(buckets, 'a', r, 100, 3_600_000)).toBe(20); // an hour idle: a full bucket, not 7200 tokens
  });

  it('keep keys apart', () => {
    const buckets = new TokenBuckets();
    takes(buckets, 'a', rate(3, 1), 3, 0);
    expect(buckets.take('a', rate(3, 1), 0)).toBe(false);
    expect(buckets.take('b', rate(3, 1), 0)).toBe(true);
  });

  it('a clock going backwards refills nothing', () => {
    const buckets = new TokenBuckets();
    takes(buckets, 'a', rate(2, 1), 2, 10_000);
    expect(buckets.take('a', rate(2, 1), 5_000)).toBe(false);
    expect(buckets.take('a', rate(2, 1), 10_400)).toBe(false);
    expect(buckets.take('a', rate(2, 1), 10_500)).toBe(true);
  });

  it('a new rate applies to existing buckets (reload), capped at the new burst', () => {
    const buckets = new TokenBuckets();
    takes(buckets, 'a', rate(10, 1), 2, 0); // 8 left
    expect(takes(buckets, 'a', rate(3, 1), 10, 0)).toBe(3);
  });

  it('hold at most maxBuckets keys, evicting the least recently used', () => {
    const buckets = new TokenBuckets(100);
    const r = rate(1, 60);
    expect(buckets.take('kept', r, 0)).toBe(true);
    for (let i = 0; i < 10_000; i++) {
      buckets.take(`rotating-${i}`, r, 0);
      if (i % 50 === 0) expect(buckets.take('kept', r, 0)).toBe(false); // used often: never evicted, stays empty
    }
    expect(buckets.size).toBeLessThanOrEqual(110); // swept back to 100 once 10% over
    expect(buckets.tokens('rotating-0', r, 0)).toBe(1); // evicted long ago: a full bucket again
    expect(buckets.tokens('rotating-9999', r, 0)).toBe(0);
  });
});

describe('rates in the config', () => {
  it('parse "N/period"', () => {
    expect(parseRate('20/10s')).toEqual({ ok: true, value: rate(20, 10) });
    expect(parseRate('60/m')).toEqual({ ok: true, value: rate(60, 60) });
    expect(parseRate(' 5 / 1s ')).toEqual({ ok: true, value: rate(5, 1) });
    expect(parseRate('100/2h')).toEqual({ ok: true, value: rate(100, 7200) });
  });

  it('refuse anything else, saying how to write one', () => {
    for (const bad of ['20', '20/10', '0/1s', '5/0s', 'fast', 20, true, '20/10x']) {
      const parsed = parseRate(bad);
      expect(parsed.ok, String(bad)).toBe(false);
    }
    expect(parseRate('20 per second')).toMatchObject({ reason: expect.stringContaining('e.g. "20/10s"') });
  });

  it('are described for people', () => {
    expect(describeRate(rate(20, 10), 'events')).toBe('20 events per 10 s');
    expect(describeRate(rate(30, 60), 'new connections')).toBe('30 new connections per 1 m');
  });

  it('errors name the key', () => {
    try {
      parseConfig(
        'rate_limits:\n  events_per_pubkey:\n    ephemeral: 50\n  exempt_ips: [300.1.1.1]\nrelay:\n  trusted_proxies: [10.0.0.0/33]\n',
        'r.yaml',
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const keys = (error as ConfigError).problems.map((p) => p.key).sort();
      expect(keys).toEqual(['rate_limits.events_per_pubkey.ephemeral', 'rate_limits.exempt_ips[0]', 'relay.trusted_proxies[0]']);
    }
  });

  it('null turns a limit off; a full section parses', () => {
    const config = parseConfig(
      'rate_limits:\n  events_per_ip: "40/10s"\n  events_per_pubkey:\n    ephemeral: null\n    regular: 10/10s\n  max_connections_per_ip: 20\n',
      'r.yaml',
    );
    expect(config.rate_limits.events_per_ip).toEqual(rate(40, 10));
    expect(config.rate_limits.events_per_pubkey).toEqual({ regular: rate(10, 10), replaceable: null, ephemeral: null, addressable: null });
    expect(config.rate_limits.max_connections_per_ip).toBe(20);
  });
});

describe('client IP behind proxies', () => {
  const none = new AddressSet([]);
  const local = new AddressSet(['127.0.0.1', '::1']);
  const lan = new AddressSet(['10.0.0.0/8', 'fd00::/8']);

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(resolveClientIp('127.0.0.1', '1.2.3.4', none)).toBe('127.0.0.1');
    expect(resolveClientIp('203.0.113.9', '1.2.3.4', local)).toBe('203.0.113.9');
  });

  it('takes the right-most untrusted address from a trusted peer', () => {
    expect(resolveClientIp('127.0.0.1', '1.2.3.4', local)).toBe('1.2.3.4');
    // The client wrote 6.6.6.6 itself; the proxy appended the address it saw.
    expect(resolveClientIp('127.0.0.1', '6.6.6.6, 1.2.3.4', local)).toBe('1.2.3.4');
    // Two trusted hops: the first proxy's own address is skipped too.
    expect(resolveClientIp('10.1.2.3', '6.6.6.6, 198.51.100.7, 10.9.9.9', lan)).toBe('198.51.100.7');
    expect(resolveClientIp('fd12::1', '2001:db8::5', lan)).toBe('2001:db8::5');
    expect(resolveClientIp('::ffff:127.0.0.1', '1.2.3.4:5555', local)).toBe('1.2.3.4');
    expect(resolveClientIp('::1', '[2001:db8::7]:443', local)).toBe('2001:db8::7');
  });

  it('stops at a malformed entry, at the last address it can vouch for', () => {
    expect(resolveClientIp('127.0.0.1', 'junk', local)).toBe('127.0.0.1');
    expect(resolveClientIp('10.0.0.1', 'junk, 10.0.0.2', lan)).toBe('10.0.0.2');
    expect(resolveClientIp('10.0.0.1', '5.5.5.5, junk, 1.2.3.4', lan)).toBe('1.2.3.4');
  });

  it('with every hop trusted, the left-most one', () => {
    expect(resolveClientIp('10.0.0.1', '10.0.0.3, 10.0.0.2', lan)).toBe('10.0.0.3');
  });

  it('address sets match v4 and v6 CIDR blocks and v4-mapped v6', () => {
    const set = new AddressSet(['192.168.0.0/16', '2001:db8::/32', '8.8.8.8']);
    expect(set.has('192.168.44.1')).toBe(true);
    expect(set.has('192.169.0.1')).toBe(false);
    expect(set.has('::ffff:192.168.1.1')).toBe(true);
    expect(set.has('2001:db8:1::1')).toBe(true);
    expect(set.has('2001:db9::1')).toBe(false);
    expect(set.has('8.8.8.8')).toBe(true);
    expect(set.has('8.8.8.9')).toBe(false);
    expect(set.has('not an ip')).toBe(false);
  });

  it('the config list is normalised and checked', () => {
    expect(parseAddressList(['127.0.0.1', '10.0.0.0/8', 'FD00::/8', '::ffff:1.2.3.4'])).toEqual({
      ok: true,
      value: ['127.0.0.1', '10.0.0.0/8', 'fd00::/8', '1.2.3.4'],
    });
    for (const bad of [['1.2.3'], ['10.0.0.0/40'], ['::/129'], ['1.2.3.4/8/1'], [7], 'x'])
      expect(parseAddressList(bad).ok, JSON.stringify(bad)).toBe(false);
  });

  it('per-IP limits count an IPv6 client by its /64', () => {
    expect(rateKeyOf('203.0.113.5')).toBe('203.0.113.5');
    expect(rateKeyOf('2001:db8:aa:bb:1:2:3:4')).toBe('2001:db8:aa:bb::/64');
    expect(rateKeyOf('2001:db8:aa:bb::9')).toBe('2001:db8:aa:bb::/64');
    expect(rateKeyOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(rateKeyOf('::1')).toBe('0:0:0:0::/64');
  });
});

describe('relay rate limits', () => {
  const off: RateLimitSettings = {
    events_per_ip: null,
    events_per_pubkey: { regular: null, replaceable: null, ephemeral: null, addressable: null },
    queries_per_connection: null,
    connections_per_ip: null,
    max_connections_per_ip: null,
    exempt_ips: [],
  };

  it('concurrent connections are counted per IP and released on close', () => {
    const limits = new RateLimits(
      () => ({ ...off, max_connections_per_ip: 2 }),
      () => 0,
    );
    expect(limits.admitConnection('1.1.1.1')).toBeUndefined();
    limits.connectionOpened('1.1.1.1');
    limits.connectionOpened('1.1.1.1');
    expect(limits.admitConnection('1.1.1.1')).toMatchObject({
      prefix: 'rate-limited',
      text: expect.stringContaining('at most 2 open at once'),
    });
    expect(limits.admitConnection('2.2.2.2')).toBeUndefined();
    limits.connectionClosed('1.1.1.1', 1);
    expect(limits.admitConnection('1.1.1.1')).toBeUndefined();
  });

  it('exempt IPs skip the per-IP limits only', () => {
    let settings: RateLimitSettings = {
      ...off,
      events_per_ip: rate(1, 10),
      events_per_pubkey: { ...off.events_per_pubkey, regular: rate(1, 10) },
      exempt_ips: ['10.0.0.0/8'],
    };
    const limits = new RateLimits(
      () => settings,
      () => 0,
    );
    const fromService = limits.events('10.1.1.1');
    expect([fromService.fromIp(), fromService.fromIp()]).toEqual([undefined, undefined]);
    const event = { kind: 1, pubkey: 'a'.repeat(64) } as Parameters<typeof fromService.byAuthor>[0];
    expect(fromService.byAuthor(event)).toBeUndefined();
    expect(fromService.byAuthor(event)?.text).toBe('slow down: at most 1 regular events per 10 s from one pubkey');
    const other = limits.events('192.0.2.1');
    expect(other.fromIp()).toBeUndefined();
    expect(other.fromIp()?.text).toBe('slow down: at most 1 events per 10 s from one IP');
    // A reloaded config applies at once.
    settings = { ...settings, events_per_ip: null };
    expect(other.fromIp()).toBeUndefined();
  });
});
