/**
 * Builders for relay → client frames. Stored events are already JSON, so EVENT frames splice the
 * raw event text in rather than re-serialising it.
 */
const q = JSON.stringify;

export const okFrame = (id: string, accepted: boolean, message: string): string => `["OK",${q(id)},${accepted},${q(message)}]`;

export const eventFramePrefix = (subId: string): string => `["EVENT",${q(subId)},`;

export const eventFrame = (subId: string, rawEvent: string): string => `${eventFramePrefix(subId)}${rawEvent}]`;

export const eoseFrame = (subId: string): string => `["EOSE",${q(subId)}]`;

export const closedFrame = (subId: string, message: string): string => `["CLOSED",${q(subId)},${q(message)}]`;

export const noticeFrame = (message: string): string => `["NOTICE",${q(message)}]`;

/** NIP-45; `hll`: 512 hex characters (HyperLogLog registers) when the count is eligible. */
export const countFrame = (subId: string, count: number, hll?: string): string =>
  `["COUNT",${q(subId)},{"count":${count}${hll === undefined ? '' : `,"hll":${q(hll)}`}}]`;

/** NIP-42: the relay's challenge to the connection. */
export const authFrame = (challenge: string): string => `["AUTH",${q(challenge)}]`;

/** NIP-77: a negentropy message (hex) and a negentropy refusal (the session is closed). */
export const negMsgFrame = (subId: string, hex: string): string => `["NEG-MSG",${q(subId)},${q(hex)}]`;

export const negErrFrame = (subId: string, message: string): string => `["NEG-ERR",${q(subId)},${q(message)}]`;
