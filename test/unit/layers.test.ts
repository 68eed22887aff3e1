/**
 * The layer rules (.dependency-cruiser.cjs, `npm run lint:layers`) bite: a throwaway tree shaped like
 * src/, with one import that breaks each rule and the imports the rules allow, is cruised by the real
 * dependency-cruiser with the real rule set. Every bad import is reported under its rule, and nothing else.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

/** path → source. Each module exports one constant, so an import of it is a value import. */
const TREE: Record<string, string> = {
  // What the bad imports point at, and what the good ones may use.
  'src/event/types.ts': 'export interface NostrEvent { id: string }',
  'src/protocol/prefixes.ts':
    "import type { NostrEvent } from '../event/types.js';\nexport const PREFIX = (event: NostrEvent) => event.id;",
  'src/filter/compile.ts': "import { PREFIX } from '../protocol/prefixes.js';\nexport const FILTER = PREFIX;",
  'src/config/values.ts': 'export const DESCRIBE = 1;',
  'src/config/types.ts': 'export interface Config { port: number }\nexport const CONFIG_TYPES = 1;',
  'src/config/schema.ts': "import { POLICY } from '../policy/write.js';\nexport const SCHEMA = POLICY;",
  'src/nips/nip09.ts': "import { FILTER } from '../filter/compile.js';\nexport const NIP09 = FILTER;",
  'src/nips/nip11.ts': 'export const NIP11 = 1;',
  'src/policy/write.ts':
    "import type { Config } from '../config/types.js';\nimport { DESCRIBE } from '../config/values.js';\nexport const POLICY = (config: Config) => config.port + DESCRIBE;",
  'src/store/store.ts':
    "import { FILTER } from '../filter/compile.js';\nimport { NIP09 } from '../nips/nip09.js';\nexport const STORE = [FILTER, NIP09];",
  'src/relay/engine.ts':
    "import { STORE } from '../store/store.js';\nimport { SCHEMA } from '../config/schema.js';\nexport const ENGINE = [STORE, SCHEMA];",
  'src/server/socket.ts': "import { ENGINE } from '../relay/engine.js';\nexport const SOCKET = ENGINE;",
  'src/app.ts':
    "import { SOCKET } from './server/socket.js';\nimport { NIP11 } from './nips/nip11.js';\nexport const APP = [SOCKET, NIP11];",
  'src/cli/serve.ts': "import { APP } from '../app.js';\nexport const SERVE = APP;",
  'src/main.ts': "import { SERVE } from './cli/serve.js';\nexport const MAIN = SERVE;",

  // One bad import per rule.
  'src/event/bad.ts': "import { SOCKET } from '../server/socket.js';\nexport const BAD = SOCKET;",
  'src/filter/bad.ts': "import type { Config } from '../config/types.js';\nexport type Bad = Config;",
  'src/store/bad.ts': "import { ENGINE } from '../relay/engine.js';\nexport const BAD = ENGINE;",
  'src/nips/nip40.ts': "import { POLICY } from '../policy/write.js';\nexport const NIP40 = POLICY;",
  'src/store/expire.ts': "import { NIP40 } from '../nips/nip40.js';\nexport const EXPIRE = NIP40;",
  'src/config/kinds.ts': "import { NIP11 } from '../nips/nip11.js';\nexport const KINDS = NIP11;",
  'src/net/ip.ts': "import { FILTER } from '../filter/compile.js';\nexport const IP = FILTER;",
  'src/policy/bad.ts': "import { SCHEMA } from '../config/schema.js';\nexport const BAD = SCHEMA;",
  'src/policy/bad-types.ts': "import { CONFIG_TYPES } from '../config/types.js';\nexport const BAD = CONFIG_TYPES;",
  'src/nips/bad.ts': "import { ENGINE } from '../relay/engine.js';\nexport const BAD = ENGINE;",
  'src/config/bad.ts': "import { ENGINE } from '../relay/engine.js';\nexport const BAD = ENGINE;",
  'src/relay/bad.ts': "import { SOCKET } from '../server/socket.js';\nexport const BAD = SOCKET;",
  'src/relay/one.ts': "import type { Two } from './two.js';\nexport interface One { two?: Two }",
  'src/relay/two.ts': "import type { One } from './one.js';\nexport interface Two { one?: One }",
  'src/server/bad.ts': "import { NIP11 } from '../nips/nip11.js';\nimport { APP } from '../app.js';\nexport const BAD = [NIP11, APP];",
  'src/sync/bad.ts': "import { SERVE } from '../cli/serve.js';\nexport const BAD = SERVE;",
};

const EXPECTED = [
  'ground-imports-nothing-above: src/event/bad.ts → src/server/socket.ts',
  'filter-imports-nothing-above: src/filter/bad.ts → src/config/types.ts',
  'store-imports-nothing-above: src/store/bad.ts → src/relay/engine.ts',
  'storage-nips-stay-low: src/nips/nip40.ts → src/policy/write.ts',
  'config-values-stay-leaves: src/config/kinds.ts → src/nips/nip11.ts',
  'net-imports-nothing-above: src/net/ip.ts → src/filter/compile.ts',
  'config-not-imported-back: src/policy/bad.ts → src/config/schema.ts',
  'config-types-as-types-only: src/policy/bad-types.ts → src/config/types.ts',
  'policy-nips-retention-import-nothing-above: src/nips/bad.ts → src/relay/engine.ts',
  'config-imports-nothing-above: src/config/bad.ts → src/relay/engine.ts',
  'engine-imports-nothing-above: src/relay/bad.ts → src/server/socket.ts',
  // A cycle is reported once, at the import that closes it.
  'no-circular: src/relay/one.ts → src/relay/two.ts',
  'server-imports-no-nips: src/server/bad.ts → src/nips/nip11.ts',
  'server-imports-nothing-above: src/server/bad.ts → src/app.ts',
  'cli-only-from-cli: src/sync/bad.ts → src/cli/serve.ts',
].sort();

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'commons-layers-'));
  const tsconfig = { compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] };
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify(tsconfig));
  for (const [path, source] of Object.entries(TREE)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), `${source}\n`);
  }
});

afterAll(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

/** dependency-cruiser over the tree with the repository's rule set, as `npm run lint:layers` runs it. */
function cruise(outputType: 'err' | 'json'): { status: number | null; stdout: string } {
  const bin = join(REPO_ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
  const config = join(REPO_ROOT, '.dependency-cruiser.cjs');
  const run = spawnSync(process.execPath, [bin, 'src', '--config', config, '--output-type', outputType], { cwd: root, encoding: 'utf8' });
  expect(run.stdout, run.stderr).not.toBe('');
  return { status: run.status, stdout: run.stdout };
}

describe('layer rules (.dependency-cruiser.cjs)', () => {
  it('report each bad import under its rule and allow the good ones', () => {
    const { summary } = JSON.parse(cruise('json').stdout) as { summary: { violations: Violation[] } };
    const violations = summary.violations.map(({ rule, from, to }) => `${rule.name}: ${from} → ${to}`).sort();
    expect(violations).toEqual(EXPECTED);
  });

  it('fail the cruise CI runs, naming the rules', () => {
    const { status, stdout } = cruise('err');
    expect(status).not.toBe(0);
    expect(stdout).toContain('error store-imports-nothing-above: src/store/bad.ts → src/relay/engine.ts');
    expect(stdout).toContain(`${EXPECTED.length} dependency violations`);
  });
});
