/** Which WebSocket server runs: native uWebSockets.js where a build loads, else `ws`, never silently. */
import { describe, expect, it } from 'vitest';
import { chooseServer, loadNativeUws, runtimeDescription } from '../../src/server/choose.js';

const nodeMajor = Number(process.versions.node.split('.')[0]);

describe('the WebSocket server choice', () => {
  it('names the Node version and the libc it runs on', () => {
    expect(runtimeDescription()).toMatch(/^node \d+\.\d+\.\d+, (glibc \d+\.\d+|\S.*)$/);
  });

  it('ws: the portable server, chosen knowingly, no warning', () => {
    const choice = chooseServer('ws');
    expect(choice).toMatchObject({ native: false, degraded: false });
    expect(choice.description).toMatch(/^server: ws \d+\.\d+\.\d+ \(portable, chosen by server\.implementation, node /);
  });

  it('auto: native uWebSockets.js wherever a build loads (always on Node 20), with the build it loaded', () => {
    const native = loadNativeUws();
    if (nodeMajor === 20) expect(native.module, native.problems.join('; ')).toBeDefined();
    const choice = chooseServer('auto');
    if (native.module) {
      expect(choice).toMatchObject({ native: true, degraded: false });
      expect(choice.description).toMatch(/^server: uWebSockets\.js 20\.(30|57)\.0 \(native, node /);
      expect(chooseServer('uws').native).toBe(true);
    } else {
      // Node 22+ on glibc older than 2.38 (Debian 12): the portable server, with the cause and the fix.
      expect(choice).toMatchObject({ native: false, degraded: true });
      expect(choice.description).toContain('uws-official 20.57.0: needs glibc 2.38 or newer');
      expect(choice.description).toContain(`uws-node20 20.30.0: no build for Node ABI ${process.versions.modules}`);
      expect(() => chooseServer('uws')).toThrow(/server\.implementation is uws, but no native uWebSockets\.js build loads here/);
    }
  });

  it('auto without a native build: one warning line with the cause and the fix; uws refuses to start', () => {
    const none = () => ({
      problems: [
        'uws-official 20.57.0: needs glibc 2.38 or newer',
        'uws-node20 20.30.0: no build for Node ABI 137 on linux_x64 (it has 93, 108, 115)',
      ],
    });
    const choice = chooseServer('auto', none);
    expect(choice).toMatchObject({ native: false, degraded: true });
    expect(choice.description).not.toContain('\n');
    expect(choice.description).toMatch(
      /^server: ws [\d.]+ \(portable, node .+\), slower than uWebSockets\.js: no native uWebSockets\.js build loads here \(uws-official 20\.57\.0: needs glibc 2\.38 or newer; uws-node20 20\.30\.0: no build for Node ABI 137 .*\)\. Fix: run Node 20, or Node 22\/24 on glibc 2\.38 or newer .*; or set server\.implementation: ws to run the portable server knowingly\.$/,
    );
    expect(() => chooseServer('uws', none)).toThrow(
      /^server\.implementation is uws, but no native uWebSockets\.js build loads here \(.*\)\. Fix: run Node 20, .* or set server\.implementation to auto or ws to accept the portable server\.$/,
    );
  });
});
