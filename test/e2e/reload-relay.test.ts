/**
 * Relay.reconfigure / RunningRelay.reload in process: the real relay on port 0 with a real SQLite file
 * and real WebSocket connections that stay open across the reload.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { trackConnections } from '../helpers/connections.js';
import { newKeys, signed } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.cleanup();
  relay = undefined;
});
const connect = trackConnections(() => relay!.url);

/** The running config with one section replaced. */
function withSection<K extends keyof Config>(config: Config, key: K, value: Partial<Config[K]>): Config {
  return { ...config, [key]: { ...(config[key] as object), ...value } };
}

async function nip11(url: string): Promise<{ name: string; supported_nips: number[] }> {
  const response = await fetch(url.replace('ws://', 'http://'), { headers: { Accept: 'application/nostr+json' } });
  return (await response.json()) as { name: string; supported_nips: number[] };
}

describe('RunningRelay.reload', () => {
  it('a new member list is used by a connection opened before the reload', async () => {
    const member = newKeys();
    const outsider = newKeys();
    relay = await startTestRelay({ members: { enabled: true, pubkeys: [member.pubkey] } });
    const client = await connect();
    expect((await client.publish(signed(outsider)))[3]).toMatch(/^blocked: only members of commons/);
    const oldMembers = relay.relay.members;

    const plan = relay.reload(withSection(relay.relay.config, 'members', { pubkeys: [member.pubkey, outsider.pubkey] }));
    expect(plan.applied).toEqual(['members.pubkeys']);
    expect(relay.relay.members).not.toBe(oldMembers);
    expect((await client.publish(signed(outsider)))[2]).toBe(true);

    // An unrelated change keeps the member set (and its watcher).
    const current = relay.relay.members;
    relay.reload(withSection(relay.relay.config, 'info', { name: 'renamed' }));
    expect(relay.relay.members).toBe(current);
    expect((await client.publish(signed(newKeys())))[3]).toMatch(/^blocked: only members of renamed/);
    expect(client.closeCode).toBeUndefined();
  });

  it('read rules, NIP-77 and NIP-11 follow the reload', async () => {
    relay = await startTestRelay();
    const client = await connect();
    expect((await client.req('dm', { kinds: [4] })).closed?.[2]).toMatch(/^auth-required: /);
    expect((await nip11(relay.url)).supported_nips).toContain(77);

    const config = relay.relay.config;
    const plan = relay.reload({ ...withSection(config, 'read', { auth_required_kinds: [] }), negentropy: { ...config.negentropy, enabled: false } });
    expect(plan.applied).toEqual(['read.auth_required_kinds', 'negentropy.enabled']);
    expect((await client.req('dm2', { kinds: [4] })).closed).toBeUndefined();
    client.send(['NEG-OPEN', 'n', {}, '6100000200']);
    const refused = await client.next((f) => f[0] === 'NEG-ERR' && f[1] === 'n');
    expect(refused[2]).toMatch(/^unsupported: /);
    expect((await nip11(relay.url)).supported_nips).not.toContain(77);
  });

  it('restart-only keys keep their running value; a conflicting reload changes nothing', async () => {
    relay = await startTestRelay({ auth: { enabled: false } });
    const before = relay.relay.config;
    const restartOnly = relay.reload(withSection(before, 'limits', { max_message_bytes: 2048, max_limit: 200 }));
    expect(restartOnly.applied).toEqual(['limits.max_limit']);
    expect(restartOnly.restartRequired).toEqual(['limits.max_message_bytes']);
    expect(relay.relay.config.limits).toMatchObject({ max_message_bytes: before.limits.max_message_bytes, max_limit: 200 });

    // read.private needs auth.enabled, which cannot change without a restart: nothing is applied.
    const running = relay.relay.config;
    const next = { ...running, auth: { ...running.auth, enabled: true }, members: { ...running.members, enabled: true }, read: { ...running.read, private: true } };
    const conflicting = relay.reload(next);
    expect(conflicting.conflicts.map((c) => c.key)).toEqual(['read.private']);
    expect(relay.relay.config).toBe(running);
    const client = await connect();
    expect((await client.req('open', { kinds: [1] })).closed).toBeUndefined();
  });
});
