import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker entry `<name>.js` beside `besideUrl` (a module's import.meta.url) when running from
 * dist/, or `<name>.ts` when running from source (vitest, tsx). Node 20 does not apply `--import tsx`
 * loader hooks inside worker threads, so a .ts worker starts as a small ESM bootstrap that registers
 * tsx in the thread and then imports the entry.
 */
export function startWorker(name: string, besideUrl: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const fromSource = besideUrl.endsWith('.ts');
  const entry = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, besideUrl);
  if (!fromSource) return new Worker(entry, options);
  const bootstrap =
    `import(${JSON.stringify(tsxEsmApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })` +
    `.catch((error) => { setImmediate(() => { throw error; }); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** URL of tsx's ESM API (a devDependency: only needed when running from source). */
function tsxEsmApi(): string {
  const meta = import.meta as { resolve?: (specifier: string) => string };
  try {
    if (typeof meta.resolve === 'function') return meta.resolve('tsx/esm/api');
  } catch {
    // fall through to require.resolve
  }
  // require.resolve picks the CommonJS build of the API; its ESM twin sits beside it.
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
}
