import { describe, expect, it, vi } from 'vitest';
import { checkEventLimits } from '../../src/event/limits.js';
import { NobleVerifier } from '../../src/event/verify.js';
import { checkProtected, type ProtectedPolicy } from '../../src/nips/nip70.js';
import { ingestEvent, type IngestDeps } from '../../src/relay/ingest.js';
import type { EventToWrite, WriteOutcome } from '../../src/store/types.js';
import { newKeys, now, signed } from '../helpers/events.js';

const alice = newKeys();
const bob = newKeys();
const protectedNote = signed(alice, { tags: [['-']], content: 'protected' });
const plainNote = signed(alice, { content: 'plain' });

const author = (...pubkeys: string[]): ProtectedPolicy => ({ mode: 'author', authenticated: new Set(pubkeys) });
const message = (policy: ProtectedPolicy, event = protectedNote): string | undefined => {
  const r = checkProtected(event, policy);
  return r && `${r.prefix}: ${r.text}`;
};

describe('NIP-70 checks', () => {
  it('recognises the ["-"] tag, and only as a tag name', () => {
    expect(message(author(), protectedNote)).toBeDefined();
    expect(message(author(), plainNote)).toBeUndefined();
    expect(message(author(), signed(alice, { tags: [['t', '-']] }))).toBeUndefined();
  });

  it('unauthenticated → auth-required:', () => {
    expect(message(author())).toBe('auth-required: this event is protected; authenticate as its author');
  });

  it('authenticated as someone else → restricted:', () => {
    expect(message(author(bob.pubkey))).toMatch(/^restricted: /);
  });

  it('authenticated as the author (among others) → accepted', () => {
    expect(message(author(bob.pubkey, alice.pubkey))).toBeUndefined();
  });

  it('AUTH disabled → blocked:; import (accept) → accepted', () => {
    expect(message({ mode: 'refuse' })).toMatch(/^blocked: /);
    expect(message({ mode: 'accept' })).toBeUndefined();
  });

  it('unprotected events pass whoever sends them', () => {
    expect(message(author(), plainNote)).toBeUndefined();
  });

  it('a repost (6, 16) embedding a protected event → blocked:, also for its author and on import', () => {
    for (const kind of [6, 16]) {
      const repost = signed(bob, {
        kind,
        content: JSON.stringify(protectedNote),
        tags: [
          ['e', protectedNote.id],
          ['p', alice.pubkey],
        ],
      });
      expect(message(author(bob.pubkey), repost)).toMatch(/^blocked: /);
      expect(message({ mode: 'accept' }, repost)).toMatch(/^blocked: /);
    }
    const plainRepost = signed(bob, { kind: 6, content: JSON.stringify(plainNote) });
    expect(message(author(), plainRepost)).toBeUndefined();
    const notJson = signed(bob, { kind: 6, content: 'not json "-"' });
    expect(message(author(), notJson)).toBeUndefined();
    const other = signed(bob, { kind: 1, content: JSON.stringify(protectedNote) });
    expect(message(author(), other)).toBeUndefined();
  });

  it('a repost whose content nests deeper than any event is taken as protected without parsing it', () => {
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    const smuggled = signed(bob, { kind: 6, content: `{"tags":[["-"]],"padding":${deep}}` });
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(message(author(bob.pubkey), smuggled)).toMatch(/^blocked: this repost embeds a protected event/);
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  it('the size/time limits no longer refuse protected events (the check moved here)', () => {
    const limits = { max_event_tags: 10, max_content_length: 100, created_at: { max_future_seconds: 900, max_past_seconds: null } };
    expect(checkEventLimits(protectedNote, limits, now())).toBeUndefined();
  });
});

describe('NIP-70 in the ingest path', () => {
  function deps(protectedEvents?: ProtectedPolicy): IngestDeps & { written: EventToWrite[] } {
    const written: EventToWrite[] = [];
    return {
      written,
      limits: { max_event_tags: 10, max_content_length: 100, created_at: { max_future_seconds: 900, max_past_seconds: null } },
      verifier: new NobleVerifier(),
      isStored: () => false,
      write: async (item): Promise<WriteOutcome> => {
        written.push(item);
        return { status: 'stored' };
      },
      now,
      protectedEvents,
    };
  }

  it('a connection policy refuses before writing; import (no policy) stores', async () => {
    const refused = deps(author());
    const outcome = await ingestEvent(protectedNote, refused).outcome;
    expect(outcome).toMatchObject({ type: 'ok', accepted: false, outcome: 'auth-required' });
    expect(refused.written).toEqual([]);

    const imported = deps();
    expect(await ingestEvent(protectedNote, imported).outcome).toMatchObject({ type: 'ok', accepted: true });
    expect(imported.written.map((item) => item.event.id)).toEqual([protectedNote.id]);
  });

  it('does not verify the signature of a protected event it refuses', async () => {
    const refused = deps(author(bob.pubkey));
    let verified = 0;
    refused.verifier = {
      verify: async () => {
        verified++;
        return true;
      },
    };
    expect(await ingestEvent(protectedNote, refused).outcome).toMatchObject({ accepted: false, outcome: 'restricted' });
    expect(verified).toBe(0);
  });

  it('sees a pubkey authenticated while the previous message of the connection was pending', async () => {
    const authenticated = new Set<string>();
    let release!: () => void;
    const previous = new Promise<void>((resolve) => (release = resolve));
    const pending = ingestEvent(protectedNote, deps({ mode: 'author', authenticated }), previous).outcome;
    authenticated.add(alice.pubkey);
    release();
    expect(await pending).toMatchObject({ type: 'ok', accepted: true });
  });
});
