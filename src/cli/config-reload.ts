/**
 * `serve`'s hot reload: SIGHUP, and (reload.watch) a change of the config file, re-read it with the
 * start's overrides and hand it to the running relay. An invalid file is refused and logged (file, key,
 * reason); the running config stays.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { RunningRelay } from '../app.js';
import { ConfigError, formatProblem, type ConfigProblem } from '../config/load.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';

/** Editors write a file in several steps (truncate, write, rename); one reload after they settle. */
const SETTLE_MS = 150;

export interface ConfigReloader {
  /** Re-reads the file now; `trigger` is logged ('SIGHUP', 'file changed'). */
  reload(trigger: string): void;
  /** Stops watching the file. */
  close(): void;
}

export function startConfigReloader(file: string, load: () => Config, running: RunningRelay, log: Logger): ConfigReloader {
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;

  const refuse = (trigger: string, problems: readonly ConfigProblem[]): void => {
    for (const problem of problems) log.error({ ...problem, trigger }, `config reload refused: ${formatProblem(problem)}`);
    log.error({ file, trigger }, 'config reload refused; the running config stays');
  };

  const reload = (trigger: string): void => {
    let next: Config;
    try {
      next = load();
    } catch (error) {
      if (error instanceof ConfigError) return refuse(trigger, error.problems);
      log.error({ err: error, file, trigger }, 'config reload failed; the running config stays');
      return;
    }
    const plan = running.reload(next);
    if (plan.conflicts.length > 0) return refuse(trigger, plan.conflicts.map(({ key, reason }) => ({ file, key, reason })));
    for (const key of plan.restartRequired) {
      log.warn({ file, key, trigger }, `config reload: ${key} changed but needs a restart; the running value stays`);
    }
    log.info({ file, trigger, applied: plan.applied, restartRequired: plan.restartRequired }, 'config reloaded');
    syncWatcher();
  };

  // The directory is watched, not the file: a rename-on-save replaces the file's inode.
  const startWatching = (): void => {
    const name = basename(file);
    try {
      watcher = watch(dirname(file), (_event, changed) => {
        if (changed !== null && changed !== name) return;
        clearTimeout(timer);
        timer = setTimeout(() => reload('file changed'), SETTLE_MS);
      });
    } catch (error) {
      log.warn({ err: error, file }, 'cannot watch the config file; reload with SIGHUP');
      return;
    }
    watcher.on('error', (error) => {
      log.warn({ err: error, file }, 'stopped watching the config file; reload with SIGHUP');
      stopWatching();
    });
  };

  const stopWatching = (): void => {
    clearTimeout(timer);
    watcher?.close();
    watcher = undefined;
  };

  const syncWatcher = (): void => {
    const wanted = running.relay.config.reload.watch;
    if (wanted && watcher === undefined) startWatching();
    if (!wanted && watcher !== undefined) stopWatching();
  };

  syncWatcher();
  return { reload, close: stopWatching };
}
