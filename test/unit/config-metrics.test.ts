/** The metrics section: off by default, its own listen address, validated with `file: key: reason`. */
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, parseConfig } from '../../src/config/load.js';
import { listenAddressOf } from '../../src/net/listen.js';

/** The error message a config text produces (every problem, one `file: key: reason` a line). */
function messageOf(text: string): string {
  try {
    parseConfig(text, 'relay.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('metrics config', () => {
  it('is off by default, on loopback', () => {
    expect(defaultConfig().metrics).toEqual({ enabled: false, listen: '127.0.0.1:9477' });
  });

  it('takes host:port, [v6]:port and port 0', () => {
    expect(parseConfig('metrics:\n  enabled: true\n  listen: 0.0.0.0:9100\n', 'x').metrics).toEqual({
      enabled: true,
      listen: '0.0.0.0:9100',
    });
    expect(parseConfig('metrics:\n  listen: "[::1]:0"\n', 'x').metrics.listen).toBe('[::1]:0');
    expect(parseConfig('metrics:\n  listen: prometheus.internal:9477\n', 'x').metrics.listen).toBe('prometheus.internal:9477');
    expect(listenAddressOf('[::1]:9477')).toEqual({ host: '::1', port: 9477 });
    expect(listenAddressOf('localhost:0')).toEqual({ host: 'localhost', port: 0 });
  });

  it('names the file, the key and the reason', () => {
    const example = 'expected host:port such as 127.0.0.1:9477 or [::1]:9477';
    expect(messageOf('metrics:\n  listen: 9477\n')).toBe(`relay.yaml: metrics.listen: ${example}, got the number 9477`);
    expect(messageOf('metrics:\n  listen: localhost\n')).toBe(`relay.yaml: metrics.listen: ${example}, got the string "localhost"`);
    expect(messageOf('metrics:\n  listen: ":9477"\n')).toBe(`relay.yaml: metrics.listen: ${example}, got the string ":9477"`);
    expect(messageOf('metrics:\n  listen: "::1:9477"\n')).toBe(
      `relay.yaml: metrics.listen: ${example} (write an IPv6 address in brackets), got the string "::1:9477"`,
    );
    expect(messageOf('metrics:\n  listen: 127.0.0.1:70000\n')).toBe(
      'relay.yaml: metrics.listen: the port must be from 0 to 65535, got 70000',
    );
    expect(messageOf('metrics:\n  enabled: yes\n')).toBe('relay.yaml: metrics.enabled: expected true or false, got the string "yes"');
    expect(messageOf('metrics:\n  enable: true\n')).toBe('relay.yaml: metrics.enable: unknown key (did you mean "metrics.enabled"?)');
  });

  it('an enabled listener may not take the relay address', () => {
    expect(messageOf('relay: { host: 127.0.0.1, port: 7777 }\nmetrics: { enabled: true, listen: 127.0.0.1:7777 }\n')).toBe(
      'relay.yaml: metrics.listen: must differ from relay.host:relay.port (127.0.0.1:7777): metrics are served on a listener of their own',
    );
    // Reported once, not again for each hosts: block (which cannot change either key).
    expect(
      messageOf(
        'relay: { port: 7777 }\nmetrics: { enabled: true, listen: 127.0.0.1:7777 }\nstorage: { path: /tmp/top.sqlite }\nhosts: [{ names: [a.example], storage: { path: /tmp/a.sqlite } }]\n',
      ).split('\n'),
    ).toEqual([
      'relay.yaml: metrics.listen: must differ from relay.host:relay.port (127.0.0.1:7777): metrics are served on a listener of their own',
    ]);
    // Off, it binds nothing; port 0 picks a free port for each.
    expect(parseConfig('metrics: { enabled: false, listen: 127.0.0.1:7777 }\n', 'x').metrics.enabled).toBe(false);
    expect(parseConfig('relay: { port: 0 }\nmetrics: { enabled: true, listen: 127.0.0.1:0 }\n', 'x').metrics.enabled).toBe(true);
  });

  it('is process-wide: a hosts: block may not set it', () => {
    const text = `storage: { path: /tmp/top.sqlite }
hosts:
  - names: [a.example]
    storage: { path: /tmp/a.sqlite }
    metrics: { enabled: true, listen: 127.0.0.1:9478 }
`;
    const lines = messageOf(text).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^relay\.yaml: hosts\[0\]\.metrics\.enabled: is process-wide .*one metrics endpoint.* set it at the top level$/,
    );
    expect(lines[1]).toMatch(/^relay\.yaml: hosts\[0\]\.metrics\.listen: is process-wide /);
  });
});
