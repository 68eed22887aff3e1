import type { Frame, RawClient } from './client.js';
import { WAIT_LIMIT_MS } from './wait.js';

/**
 * Prefixes a refusal (OK false) may start with: NIP-01's list plus NIP-42's `auth-required`.
 * (`unsupported:` and `closed:` are for CLOSED / NEG-ERR, never for OK.)
 */
export const OK_FALSE_PREFIXES = [
  'duplicate',
  'pow',
  'blocked',
  'rate-limited',
  'invalid',
  'restricted',
  'mute',
  'error',
  'auth-required',
] as const;

/** Describes what is wrong with an OK frame's shape, or undefined when it is well-formed. */
export function okFrameProblem(frame: Frame): string | undefined {
  if (frame[0] !== 'OK') return undefined;
  const text = JSON.stringify(frame);
  if (frame.length !== 4) return `OK frame must have 4 elements: ${text}`;
  if (typeof frame[1] !== 'string') return `OK frame id must be a string: ${text}`;
  if (typeof frame[2] !== 'boolean') return `OK frame 3rd element must be a boolean: ${text}`;
  if (typeof frame[3] !== 'string') return `OK frame message must be a string: ${text}`;
  if (frame[2] === false) {
    const match = /^([a-z-]+): /.exec(frame[3]);
    if (!match) return `OK false message must be "<prefix>: <text>": ${text}`;
    if (!(OK_FALSE_PREFIXES as readonly string[]).includes(match[1]!))
      return `OK false prefix "${match[1]}" is not a NIP-01 prefix: ${text}`;
  }
  return undefined;
}

/** Records the raw text of every frame the client receives from now on (RawClient keeps only parsed frames). */
export function recordRaw(client: RawClient): string[] {
  const raw: string[] = [];
  client.socket.on('message', (data, isBinary) => {
    if (!isBinary) raw.push(data.toString());
  });
  return raw;
}

/** Index of `frame` in the client's frame log (frames are recorded before waiters run). */
export const indexOf = (client: RawClient, frame: Frame): number => client.frames.indexOf(frame);

/** Waits for the first frame after index `from` that satisfies `predicate`. */
export function nextAfter(
  client: RawClient,
  from: number,
  predicate: (frame: Frame) => boolean,
  timeoutMs = WAIT_LIMIT_MS,
): Promise<Frame> {
  return client.next((frame) => client.frames.indexOf(frame) >= from && predicate(frame), timeoutMs);
}
