import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config/types.js';

export type { Logger };

/** JSON lines for machines; readable lines when a person watches a terminal (or when asked). */
export function createLogger(logging: Config['logging'], destination: NodeJS.WritableStream = process.stderr): Logger {
  const readable = logging.format === 'pretty' || (logging.format === 'auto' && Boolean((destination as { isTTY?: boolean }).isTTY));
  const options = { level: logging.level, base: undefined };
  if (readable)
    return pino(options, pretty({ destination: destination as NodeJS.WritableStream & { fd?: number }, sync: true, colorize: true }));
  return pino(options, destination);
}
