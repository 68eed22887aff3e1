/**
 * contrib/haproxy/haproxy.cfg as an operator runs it, in front of three cluster nodes and a NATS server:
 * only its certificate, listening address and node addresses are changed. Its NIP-11 health check marks
 * nodes down and up, a client publishes over wss:// through it and REQs through it land on every node,
 * and with one node killed clients still get through.
 *
 * Skipped where /usr/sbin/haproxy or /usr/sbin/nats-server is missing on a developer's machine; under CI
 * (.ci/run installs both) a missing one fails.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/client.js';
import { freePort } from '../helpers/cli.js';
import { waitUntilStored } from '../helpers/cluster-events.js';
import { type ClusterNode, killAll, logTail, startClusterNode } from '../helpers/cluster-nodes.js';
import { newKeys, signed } from '../helpers/events.js';
import { hasNatsServer, NATS_MISSING, type NatsServer, natsRequired, startNatsServer } from '../helpers/nats.js';
import { waitFor } from '../helpers/wait.js';

const HAPROXY = '/usr/sbin/haproxy';
const hasHaproxy = existsSync(HAPROXY);
const missing = [hasHaproxy ? '' : `${HAPROXY} is missing (apt-get install -y haproxy)`, hasNatsServer ? '' : NATS_MISSING]
  .filter(Boolean)
  .join('; ');
const CONFIG = fileURLToPath(new URL('../../contrib/haproxy/haproxy.cfg', import.meta.url));
const TIMEOUT_MS = 300_000;
/** Three failed checks 2 s apart mark a node down, two passed ones up (the file's inter/fall/rise). */
const CHECK_STATE_MS = 60_000;
const NODE_NAMES = ['node-a', 'node-b', 'node-c'] as const;

/** The contrib file with one replacement per pattern; each must match exactly `count` times. */
function rewrite(text: string, replacements: [RegExp, string, number][]): string {
  let out = text;
  for (const [pattern, replacement, count] of replacements) {
    const found = out.match(new RegExp(pattern.source, 'gm'))?.length ?? 0;
    if (found !== count) throw new Error(`contrib/haproxy/haproxy.cfg: ${pattern} matched ${found} times, expected ${count}`);
    out = out.replace(new RegExp(pattern.source, 'gm'), replacement);
  }
  return out;
}

if (missing !== '' && !natsRequired) console.warn(`test/e2e/cluster-haproxy.test.ts skipped: ${missing}`);
if (missing !== '' && natsRequired) {
  describe('HAProxy in front of a cluster', () => {
    it('needs haproxy and nats-server under CI (.ci/run installs them with apt-get)', () => {
      expect(missing).toBe('');
    });
  });
}

describe.skipIf(missing !== '')(`HAProxy in front of a cluster${missing === '' ? '' : ` (skipped: ${missing})`}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'commons-haproxy-'));
  const haproxyLog: string[] = [];
  const clients: RawClient[] = [];
  let nats: NatsServer;
  const nodes: ClusterNode[] = [];
  let haproxy: ChildProcess | undefined;
  let proxyUrl: string;
  let cert: string;

  /** Whether haproxy logged `text` (from line `from` on); throws (with its log) once haproxy has exited. */
  const logSays = (text: string, from = 0): boolean => {
    if (haproxy !== undefined && (haproxy.exitCode !== null || haproxy.signalCode !== null)) {
      throw new Error(`haproxy exited (${haproxy.exitCode ?? haproxy.signalCode}):\n${haproxyLog.join('\n')}`);
    }
    return haproxyLog.slice(from).some((line) => line.includes(text));
  };
  const context = (): string => `haproxy:\n${haproxyLog.slice(-30).join('\n')}\n${nodes.map((node) => logTail(node, 10)).join('\n')}`;

  /** GET / with Accept: application/nostr+json through the proxy (TLS with the test's certificate). */
  function nip11ViaProxy(): Promise<{ status: number; contentType: string; body: string }> {
    return new Promise((resolve, reject) => {
      const request = get(
        `https://127.0.0.1:${new URL(proxyUrl).port}/`,
        { ca: cert, headers: { accept: 'application/nostr+json' }, timeout: 10_000 },
        (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'] ?? '', body }),
          );
        },
      );
      request.on('timeout', () => request.destroy(new Error('NIP-11 through haproxy: no answer within 10 s')));
      request.on('error', reject);
    });
  }

  /** A client through HAProxy; like a real client it tries again (3 times at most) when a connection attempt is dropped. */
  async function viaProxy(attempts = 3): Promise<RawClient> {
    let client: RawClient;
    try {
      client = await RawClient.connect(proxyUrl, undefined, cert);
    } catch (error) {
      if (attempts <= 1) throw error;
      return viaProxy(attempts - 1);
    }
    client.socket.on('error', () => {});
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    nats = await startNatsServer();
    for (const name of NODE_NAMES) {
      nodes.push(await startClusterNode({ name, parentDir: dir, natsUrl: nats.url, trustedProxies: ['127.0.0.1'], startNow: false }));
    }
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
        ...['-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    writeFileSync(join(dir, 'relay.pem'), cert + readFileSync(join(dir, 'key.pem'), 'utf8'));

    const port = await freePort();
    const config = rewrite(readFileSync(CONFIG, 'utf8'), [
      [/\/etc\/haproxy\/certs\/relay\.example\.org\.pem/, join(dir, 'relay.pem'), 1],
      [/^( {4}bind ):443 /, `$1127.0.0.1:${port} `, 1],
      ...nodes.map((node): [RegExp, string, number] => [new RegExp(`^( {4}server ${node.name}) \\S+$`), `$1 127.0.0.1:${node.port}`, 1]),
    ]);
    const configPath = join(dir, 'haproxy.cfg');
    writeFileSync(configPath, config);
    proxyUrl = `wss://127.0.0.1:${port}`;

    const proxy = spawn(HAPROXY, ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy = proxy;
    for (const stream of [proxy.stdout!, proxy.stderr!]) {
      stream.setEncoding('utf8').on('data', (chunk: string) => haproxyLog.push(...chunk.split('\n').filter(Boolean)));
    }
    // No node runs yet: the health check must see each one down before it can see it come up.
    await waitFor(
      () => NODE_NAMES.every((name) => logSays(`nodes/${name} is DOWN`)),
      'haproxy marks the stopped nodes down',
      CHECK_STATE_MS,
    );
    for (const node of nodes) await node.start();
    await waitFor(
      () => NODE_NAMES.every((name) => logSays(`nodes/${name} is UP`)),
      'haproxy sees every node’s NIP-11 document',
      CHECK_STATE_MS,
    );
  }, TIMEOUT_MS);

  afterAll(async () => {
    for (const client of clients) client.socket.terminate();
    if (haproxy !== undefined && haproxy.exitCode === null && haproxy.signalCode === null) haproxy.kill('SIGKILL');
    await killAll(nodes);
    await nats?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }, TIMEOUT_MS);

  it(
    'an event published through HAProxy is returned by REQs through HAProxy on every node; NIP-11 answers through it',
    async () => {
      const event = signed(newKeys(), { content: 'through haproxy' });
      const publisher = await viaProxy();
      const ok = await publisher.publish(event);
      expect(ok[2], JSON.stringify(ok)).toBe(true);
      // leastconn hands three more open connections to the three nodes.
      const readers = [await viaProxy(), await viaProxy(), await viaProxy()];
      for (const reader of readers) await waitUntilStored(reader, [event.id], { what: 'the event through haproxy', context });

      const info = await nip11ViaProxy();
      expect(info.status).toBe(200);
      expect(info.contentType).toBe('application/nostr+json');
      expect(JSON.parse(info.body)).toHaveProperty('supported_nips');
    },
    TIMEOUT_MS,
  );

  it(
    'with one node killed, HAProxy marks it down and clients still publish and read through it',
    async () => {
      const killed = nodes[1]!;
      await killed.kill();
      await waitFor(() => logSays(`nodes/${killed.name} is DOWN`), `haproxy marks ${killed.name} down`, CHECK_STATE_MS);
      const event = signed(newKeys(), { content: 'one node down' });
      expect((await (await viaProxy()).publish(event))[2]).toBe(true);
      for (let i = 0; i < 4; i++)
        await waitUntilStored(await viaProxy(), [event.id], { what: `reader ${i} with ${killed.name} down`, context });
    },
    TIMEOUT_MS,
  );
});
