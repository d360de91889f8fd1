/** Where to watch for trigger paths (rebuild, restart, exec globs). */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ServiceSync } from '../core/model.js';
import { staticPrefix } from '../core/triggers.js';

export interface TriggerRoot {
  root: string;
  /** Only the root's own entries matter (a trigger on one file). */
  shallow: boolean;
}

const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;

/**
 * One watch root per trigger pattern: a directory pattern or glob watches its static prefix
 * (the nearest existing directory), a single file watches its parent, shallowly.
 */
export function triggerRoots(services: ServiceSync[], projectDir: string): TriggerRoot[] {
  const roots = new Map<string, boolean>();
  const add = (root: string, shallow: boolean) =>
    roots.set(root, (roots.get(root) ?? true) && shallow);
  for (const svc of services) {
    const patterns = [
      ...svc.rebuild,
      ...svc.restart.flatMap((r) => r.paths),
      ...svc.exec.flatMap((e) => e.paths),
    ];
    for (const p of patterns) {
      if (p.startsWith('!')) continue;
      const prefix = staticPrefix(p);
      let abs = prefix ? join(projectDir, prefix) : projectDir;
      const literal = prefix === p.replace(/^\.\//, '').replace(/\/$/, '');
      if (literal && !isDir(abs)) {
        add(dirname(abs), true);
        continue;
      }
      while (!isDir(abs) && abs !== projectDir && abs !== dirname(abs)) abs = dirname(abs);
      add(abs, false);
    }
  }
  return [...roots].map(([root, shallow]) => ({ root, shallow }));
}
