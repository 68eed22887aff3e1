/** What the relay counts since it started (shown on the page). */
export interface RelayCounters {
  connections: number;
  subscriptions: number;
  eventsReceived: number;
  eventsStored: number;
  startedAt: number;
}
