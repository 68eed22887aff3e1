/**
 * contrib/systemd/commons.service: the hardening the README promises is in it, and systemd's own parser
 * accepts every line (`systemd-analyze verify` prints a warning, but exits 0, for a key it ignores; so its
 * output must be empty). Skipped where systemd-analyze is not installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

const UNIT = join(REPO_ROOT, 'contrib', 'systemd', 'commons.service');
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

/** `Key=value` lines of the [Service] section, in order. */
function serviceSettings(): [string, string][] {
  const text = readFileSync(UNIT, 'utf8');
  const section = text.slice(text.indexOf('[Service]'), text.indexOf('[Install]'));
  return section
    .split('\n')
    .filter((line) => /^\w+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
}

describe('contrib/systemd/commons.service', () => {
  it('runs `serve` with the config in /etc, reloads by SIGHUP, and is hardened', () => {
    const settings = new Map(serviceSettings());
    expect(settings.get('ExecStart')).toMatch(/\/dist\/main\.js serve --config \/etc\/commons\/relay\.yaml$/);
    expect(settings.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(settings.get('User')).toBe('commons');
    expect(settings.get('NoNewPrivileges')).toBe('yes');
    expect(settings.get('ProtectSystem')).toBe('strict');
    expect(settings.get('ReadWritePaths')).toBe('/var/lib/commons');
    expect(settings.get('StateDirectory')).toBe('commons');
    expect(settings.get('WorkingDirectory')).toBe('/var/lib/commons');
    expect(settings.get('CapabilityBoundingSet')).toBe('');
  });

  it.skipIf(!hasSystemdAnalyze)('passes systemd-analyze verify without a warning', () => {
    const result = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8', timeout: 20_000 });
    expect(result.stderr + result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
