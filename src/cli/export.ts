import { once } from 'node:events';
import type { Argv } from 'yargs';
import { type CompiledFilter, compileFilter } from '../filter/compile.js';
import { EventStore } from '../store/store.js';
import { siteConfigOrExit, withConfigOption, withHostOption } from './options.js';

export const exportCommand = {
  command: 'export',
  describe: 'Write stored events to stdout as JSON lines (newest first), the format strfry and nak use',
  builder: (yargs: Argv) =>
    withHostOption(withConfigOption(yargs)).option('filter', {
      type: 'string',
      describe: 'NIP-01 filter as JSON, e.g. \'{"kinds":[0,3]}\' (limit is ignored)',
    }),
  handler: async (args: { config: string; db?: string; host?: string; filter?: string }): Promise<void> => {
    const config = siteConfigOrExit(args.config, { db: args.db }, args.host);
    let filter: CompiledFilter | undefined;
    if (args.filter !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(args.filter);
      } catch {
        fail('--filter is not valid JSON');
      }
      const compiled = compileFilter(parsed, { ...config.limits, max_filter_values: Number.MAX_SAFE_INTEGER });
      if ('prefix' in compiled) fail(`--filter: ${compiled.text}`);
      filter = compiled;
    }
    const store = EventStore.open(config.storage.path, { synchronous: config.storage.synchronous });
    try {
      for (const json of store.iterate(filter)) {
        if (!process.stdout.write(`${json}\n`)) await once(process.stdout, 'drain');
      }
    } finally {
      store.close();
    }
  },
};

function fail(message: string): never {
  process.stderr.write(`export: ${message}\n`);
  process.exit(2);
}
