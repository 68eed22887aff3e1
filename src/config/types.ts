/**
 * The effective configuration after defaults are applied and validation passed.
 * Every key here is declared once, with its default and description, in schema.ts.
 */
export interface Config {
  relay: {
    host: string;
    port: number;
    /** Public URL clients use (wss://…); shown on the page and matched against NIP-42 AUTH relay tags. Empty = derived from host/port (AUTH: the Host header). */
    url: string;
  };
  info: {
    name: string;
    description: string;
    pubkey: string;
    contact: string;
    icon: string;
    banner: string;
    terms_of_service: string;
  };
  storage: {
    path: string;
    synchronous: 'full' | 'normal';
  };
  verify: {
    /** Signature-verification worker threads; 0 = verify on the main thread (WASM). */
    workers: number;
  };
  limits: {
    max_message_bytes: number;
    max_subscriptions: number;
    max_filters: number;
    max_filter_values: number;
    max_limit: number;
    default_limit: number;
    max_subid_length: number;
    max_event_tags: number;
    max_content_length: number;
    created_at: {
      /** Seconds an event's created_at may lie ahead of now; null = no limit. */
      max_future_seconds: number | null;
      /** Seconds an event's created_at may lie behind now; null = no limit. */
      max_past_seconds: number | null;
    };
    /** A connection whose outbound buffer grows past this many bytes is closed. */
    max_outbound_bytes: number;
  };
  auth: {
    /** NIP-42: send a challenge on connect and accept AUTH; also what makes NIP-70 protected events publishable. */
    enabled: boolean;
    /** How far an AUTH event's created_at may lie from the relay's clock, either way. */
    max_age_seconds: number;
  };
  logging: {
    level: LogLevel;
    connections: LogLevel;
    rejections: LogLevel;
    /** auto = readable lines on a terminal, JSON lines otherwise. */
    format: 'auto' | 'json' | 'pretty';
  };
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type Limits = Config['limits'];
