/**
 * `serve`'s hot reload: SIGHUP, and (reload.watch) a change of the config file or of a file it names
 * (GeoJSON areas), re-read it with the start's overrides and hand it to the running relay. An invalid
 * file is refused and logged (file, key, reason); the running config stays.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { RunningRelay } from '../app.js';
import { recordFilesRead } from '../config/files-read.js';
import { ConfigError, formatProblem, type ConfigProblem } from '../config/load.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';

/** Editors write a file in several steps (truncate, write, rename); one reload after they settle. */
const SETTLE_MS = 150;

export interface ConfigReloader {
  /**
   * Re-reads the file now; `trigger` is logged ('SIGHUP', 'file changed'). Resolves when the outcome is
   * logged: 'config reloaded' once every connection thread has applied it.
   */
  reload(trigger: string): Promise<void>;
  /** Stops watching the files. */
  close(): void;
}

/**
 * @param filesRead the files the running config's load read besides `file` (files-read.ts): watched too,
 *   and replaced by those of each later load (added to, when a load fails part way).
 */
export function startConfigReloader(
  file: string,
  load: () => Config,
  running: RunningRelay,
  log: Logger,
  filesRead: ReadonlySet<string> = new Set(),
): ConfigReloader {
  /** Watched directory → the names in it that trigger a reload. The directory is watched, not the file: a rename-on-save replaces the file's inode. */
  const watchers = new Map<string, { watcher: FSWatcher; names: Set<string> }>();
  let named = new Set(filesRead);
  let timer: NodeJS.Timeout | undefined;

  const refuse = (trigger: string, problems: readonly ConfigProblem[]): void => {
    for (const problem of problems) log.error({ ...problem, trigger }, `config reload refused: ${formatProblem(problem)}`);
    log.error({ file, trigger }, 'config reload refused; the running config stays');
  };

  const reload = async (trigger: string): Promise<void> => {
    const read = new Set<string>();
    let next: Config;
    try {
      next = recordFilesRead(read, load);
    } catch (error) {
      // Fixing the file that broke this load must trigger the next one: keep watching what was read.
      named = new Set([...named, ...read]);
      syncWatchers();
      running.reloadRefused();
      if (error instanceof ConfigError) return refuse(trigger, error.problems);
      log.error({ err: error, file, trigger }, 'config reload failed; the running config stays');
      return;
    }
    named = read;
    const plan = running.reload(next);
    syncWatchers(); // reload.watch itself may have changed
    if (plan.conflicts.length > 0)
      return refuse(
        trigger,
        plan.conflicts.map(({ key, reason }) => ({ file, key, reason })),
      );
    for (const key of plan.restartRequired) {
      log.warn({ file, key, trigger }, `config reload: ${key} changed but needs a restart; the running value stays`);
    }
    await running.reloaded();
    log.info({ file, trigger, applied: plan.applied, restartRequired: plan.restartRequired }, 'config reloaded');
  };

  const watchDirectory = (directory: string, names: Set<string>): void => {
    try {
      const watcher = watch(directory, (_event, changed) => {
        if (changed !== null && !watchers.get(directory)?.names.has(changed)) return;
        clearTimeout(timer);
        timer = setTimeout(() => void reload('file changed'), SETTLE_MS);
      });
      watcher.on('error', (error) => {
        log.warn({ err: error, file, directory }, 'stopped watching a directory of the config files; reload with SIGHUP');
        watcher.close();
        watchers.delete(directory);
      });
      watchers.set(directory, { watcher, names });
    } catch (error) {
      log.warn({ err: error, file, directory }, 'cannot watch a directory of the config files; reload with SIGHUP');
    }
  };

  /** Watches the config file and the files it names while reload.watch is on; nothing otherwise. */
  const syncWatchers = (): void => {
    const wanted = new Map<string, Set<string>>();
    if (running.relay.config.reload.watch) {
      for (const path of [resolve(file), ...named]) {
        const names = wanted.get(dirname(path)) ?? new Set<string>();
        wanted.set(dirname(path), names.add(basename(path)));
      }
    }
    for (const [directory, { watcher }] of watchers) {
      if (wanted.has(directory)) continue;
      watcher.close();
      watchers.delete(directory);
    }
    for (const [directory, names] of wanted) {
      const current = watchers.get(directory);
      if (current) current.names = names;
      else watchDirectory(directory, names);
    }
  };

  const close = (): void => {
    clearTimeout(timer);
    for (const { watcher } of watchers.values()) watcher.close();
    watchers.clear();
  };

  syncWatchers();
  return { reload, close };
}
