/**
 * Watches the policy files and directories and calls `onChange` once a burst of file events has settled.
 * Directories are watched, not files: editors replace files, and ConfigMap volumes swap a `..data` symlink.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';

export interface PolicyWatcherOptions {
  /** Policy directories (resolved): any event in them counts. */
  dirs: readonly string[];
  /** Policy files named directly: only events for these names (or `..data`) count. */
  files: readonly string[];
  /** Debounce for file events (ms); ConfigMap updates arrive as a burst of events. */
  debounceMs: number;
  onChange: () => void;
  log: Logger;
}

export class PolicyWatcher {
  readonly #options: PolicyWatcherOptions;
  readonly #watchers: FSWatcher[] = [];
  #debounce: NodeJS.Timeout | undefined;

  constructor(options: PolicyWatcherOptions) {
    this.#options = options;
  }

  start(): void {
    const { dirs, files, log } = this.#options;
    const targets = new Map<string, Set<string> | 'all'>();
    for (const dir of dirs) targets.set(dir, 'all');
    for (const file of files) {
      const dir = dirname(resolve(file));
      const known = targets.get(dir);
      if (known === 'all') continue;
      targets.set(dir, new Set([...(known ?? []), basename(file)]));
    }
    for (const [dir, names] of targets) {
      try {
        const watcher = watch(dir, (_event, name) => {
          const n = name === null ? null : String(name);
          if (n !== null && !n.startsWith('..') && names !== 'all' && !names.has(n)) return;
          this.#changed();
        });
        watcher.on('error', (error) => log.warn({ event: 'policy-watch-error', err: error }, `policy watch stopped: ${error.message}`));
        this.#watchers.push(watcher);
      } catch (error) {
        log.warn({ event: 'policy-watch-error', err: error }, `cannot watch ${dir} for policy changes: ${messageOf(error)}`);
      }
    }
  }

  close(): void {
    if (this.#debounce) clearTimeout(this.#debounce);
    for (const w of this.#watchers) w.close();
  }

  #changed(): void {
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#options.onChange();
    }, this.#options.debounceMs);
  }
}
