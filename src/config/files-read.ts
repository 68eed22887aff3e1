/**
 * Which files a config load read besides the config file itself (GeoJSON areas named by path), so
 * that `reload.watch` can watch them too. Loading is synchronous: the set being filled is the one of
 * the load under way.
 */
let recording: Set<string> | undefined;

/** Runs `load`, adding to `files` the path of every file it reads through noteFileRead (also when it throws). */
export function recordFilesRead<T>(files: Set<string>, load: () => T): T {
  const outer = recording;
  recording = files;
  try {
    return load();
  } finally {
    recording = outer;
  }
}

/** Called by parsers before they read a file named in the config (resolved path; a missing file counts too). */
export function noteFileRead(path: string): void {
  recording?.add(path);
}
