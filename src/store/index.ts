export { EventStore } from './store.js';
export type { OpenOptions } from './open.js';
export type { EventToWrite, WriteOutcome } from './types.js';
