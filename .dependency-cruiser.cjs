/**
 * The layer rules of src/ (README.md, "Development"), checked by `npm run lint:layers` and by .ci/run.
 *
 * From the ground up; an import may only point down or sideways within its layer:
 *
 *   protocol, event (+ worker/, version.ts)    ground: import nothing else of src/
 *   config/{values,kinds,duration,files-read,rows}
 *                                              what config parsers and section tables share; import only event/
 *   net                                        IP addresses (used by server, engine and NIP-86)
 *   filter
 *   store                                      + the NIP modules holding storage semantics (STORAGE_NIPS)
 *   policy, nips, retention                    declare and parse their own config sections; config/types.ts as types only
 *   config                                     composes those sections: table, schema, load, reload, hosts
 *   relay, fanout, log.ts                      the engine and live delivery
 *   server                                     sockets and HTTP; no NIP module
 *   app.ts, site.ts, site-page, sync, threads, cluster   composition (site-page: the home page a site serves)
 *   cli, main.ts                               nothing else imports cli/
 *
 * Type-only imports count like any other (tsPreCompilationDeps), for layers and for cycles. The one
 * exception: policy/, nips/, retention/ and net/ may name the Config types with `import type` from
 * config/types.ts (rules config-not-imported-back, config-types-as-types-only).
 */
const GROUND = '^src/(protocol|event|worker)/|^src/version\\.ts$';
const CONFIG_VALUES = '^src/config/(values|kinds|duration|files-read|rows)\\.ts$';
const CONFIG_TYPES = '^src/config/types\\.ts$';
const NET = '^src/net/';
const FILTER = '^src/filter/';
const STORE = '^src/store/';
/** NIP modules with storage semantics the store's write path and readers use: deletion, expiration, vanish, negentropy (and 42, whose relay-URL match 62 uses). */
const STORAGE_NIPS = '^src/nips/nip(09|40|42|62|77)\\.ts$';
const DOMAIN = '^src/(policy|nips|retention)/';
const CONFIG = '^src/config/';
const ENGINE = '^src/(relay|fanout)/|^src/log\\.ts$';
const SERVER = '^src/server/';
const APP = '^src/(app|site)\\.ts$|^src/(sync|threads|site-page|cluster)/';
const CLI = '^src/cli/|^src/main\\.ts$';

const any = (...patterns) => patterns.join('|');

/** A rule: modules matching `from` import nothing of src/ but what `allowed` matches. */
const onlyBelow = (name, comment, from, allowed) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: '^src/', pathNot: allowed },
});

/** A rule: modules matching `from` import nothing `forbidden` matches. */
const never = (name, comment, from, forbidden) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: forbidden },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included: move what both sides need to a module below both.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    onlyBelow(
      'ground-imports-nothing-above',
      'protocol/ and event/ (and worker/, version.ts) are the ground: they know nothing of filters, the store, policies, NIPs, the config, the engine, the server or the CLI.',
      GROUND,
      GROUND,
    ),
    onlyBelow(
      'config-values-stay-leaves',
      'config/values.ts, kinds.ts, duration.ts, files-read.ts and rows.ts are what domain parsers and section tables share; they import nothing that imports the config (event/ only).',
      CONFIG_VALUES,
      any(CONFIG_VALUES, '^src/event/'),
    ),
    onlyBelow('net-imports-nothing-above', 'net/ sits below the server, the engine and NIP-86, which all use it.', NET, any(GROUND, CONFIG_VALUES, NET)),
    onlyBelow(
      'filter-imports-nothing-above',
      'filter/ knows protocol/ and event/ only: nothing of the store, NIPs, the config, the engine, the server or the CLI.',
      FILTER,
      any(GROUND, FILTER),
    ),
    onlyBelow(
      'store-imports-nothing-above',
      'store/ knows filters, events and the storage NIP modules only: nothing of policies, the config, the engine, the server or the CLI.',
      STORE,
      any(GROUND, FILTER, STORE, STORAGE_NIPS),
    ),
    onlyBelow(
      'storage-nips-stay-low',
      'The NIP modules the store uses import only protocol/, event/, filter/ and each other, so the store reaches nothing above it through them.',
      STORAGE_NIPS,
      any(GROUND, FILTER, STORAGE_NIPS),
    ),
    onlyBelow(
      'policy-nips-retention-import-nothing-above',
      'policy/, nips/ and retention/ sit below the config composition, the engine, the server and the CLI.',
      DOMAIN,
      any(GROUND, NET, FILTER, STORE, DOMAIN, CONFIG),
    ),
    {
      name: 'config-not-imported-back',
      comment:
        'config/ composes the sections domain modules declare and parse; a domain module imports from config/ only the shared helpers (values, kinds, duration, files-read, rows) and, as types, types.ts.',
      severity: 'error',
      from: { path: any(DOMAIN, NET) },
      to: { path: CONFIG, pathNot: any(CONFIG_VALUES, CONFIG_TYPES) },
    },
    {
      name: 'config-types-as-types-only',
      comment: 'A domain module may name the Config types (import type), never load config/types.ts.',
      severity: 'error',
      from: { path: any(DOMAIN, NET) },
      to: { path: CONFIG_TYPES, dependencyTypesNot: ['type-only'] },
    },
    onlyBelow(
      'config-imports-nothing-above',
      'config/ composes the domain modules below it and knows nothing of the engine, the server or the CLI.',
      CONFIG,
      any(GROUND, NET, FILTER, STORE, DOMAIN, CONFIG),
    ),
    never('engine-imports-nothing-above', 'The engine reaches sockets only through its own interfaces (relay/client.ts).', ENGINE, any(SERVER, APP, CLI)),
    never('server-imports-no-nips', 'The server layer imports no NIP module: the site hands it what it shows (NIP-11, the page).', SERVER, '^src/nips/'),
    never('server-imports-nothing-above', 'The server knows the engine, not the composition or the CLI.', SERVER, any(APP, CLI)),
    {
      name: 'cli-only-from-cli',
      comment: 'Nothing outside cli/ imports cli/ (main.ts, the entry, excepted): what two commands share lives below them.',
      severity: 'error',
      from: { path: '^src/', pathNot: CLI },
      to: { path: '^src/cli/' },
    },
  ],
  options: {
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
