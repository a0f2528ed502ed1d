/**
 * `--reload`: watches the application's files and says which one changed. Editors write a
 * file as several events (a temp file, a rename, a write); they are gathered into one change.
 */
import { watch, type FSWatcher } from 'node:fs';
import { relative, join } from 'node:path';

// Not the application's code: dependencies, version control, editors' swap and backup files.
const IGNORED = /(^|\/)(node_modules|\.git|\.hg|\.svn)(\/|$)|(^|\/)\.[^/]*\.sw[a-p]$|~$|(^|\/)\.#|(^|\/)#[^/]*#$|4913$/;
const SETTLE_MS = 150;

export interface Watch {
  close(): void;
}

/** Calls `onChange` with the (first) changed file, once per burst of changes under `paths`. */
export function watchForChanges(paths: string[], onChange: (file: string) => void): Watch {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let first: string | undefined;
  for (const path of paths) {
    // Persistent: with the application unable to start, the watch is all that keeps tsgi waiting for a fix.
    const watcher = watch(path, { recursive: true }, (_event, name) => {
      const file = name === null ? path : join(path, name.toString());
      if (IGNORED.test(file)) return;
      first ??= file;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const changed = first!;
        first = undefined;
        onChange(relative(process.cwd(), changed) || changed);
      }, SETTLE_MS);
    });
    watchers.push(watcher);
  }
  return {
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
