/**
 * Mapping between rule-relative local paths and container paths. Pure.
 */
import { posix } from 'node:path';
import type { SyncRule } from './model.js';

/** The rule's target as an absolute container path (relative targets join the WORKDIR). */
export function resolveTarget(target: string, workdir: string): string {
  const base = workdir && workdir.startsWith('/') ? workdir : '/';
  return posix
    .normalize(target.startsWith('/') ? target : posix.join(base, target))
    .replace(/(.)\/+$/, '$1');
}

/** Remove a leading prefix (glob `strip`), tolerating a missing trailing slash in the prefix. */
function stripPrefix(path: string, strip: string | undefined): string {
  if (!strip) return path;
  const prefix = strip.replace(/^\.\//, '').replace(/\/?$/, '/');
  if (prefix === '/') return path;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

/**
 * Where a rule-relative path lands in the container, or null when the mapping would leave the
 * target (which the safety rules forbid: nothing is written outside a rule's target).
 */
export function toContainerPath(
  rule: Pick<SyncRule, 'kind' | 'only' | 'strip' | 'rootFromProject'>,
  targetAbs: string,
  rel: string,
): string | null {
  let sub: string;
  if (rule.kind === 'file') {
    if (rel !== rule.only) return null;
    return targetAbs.endsWith('/') ? posix.join(targetAbs, rel) : targetAbs;
  } else if (rule.kind === 'glob') {
    sub = stripPrefix(posix.join(rule.rootFromProject ?? '', rel), rule.strip);
  } else {
    sub = rel;
  }
  if (sub === '' || sub === '.') return targetAbs;
  const out = posix.join(targetAbs, sub);
  if (!isInside(out, targetAbs)) return null;
  return out;
}

/** True when container path `p` is `root` or below it. */
export function isInside(p: string, root: string): boolean {
  if (root === '/') return p.startsWith('/');
  return p === root || p.startsWith(root + '/');
}

/**
 * The inverse for directory and glob rules: which rule-relative path a container path below the
 * target stands for (used when a container-side tree is scanned). For glob rules without strip
 * the container tree mirrors the project layout below the target.
 */
export function fromContainerRel(
  rule: Pick<SyncRule, 'kind' | 'only' | 'strip' | 'rootFromProject'>,
  remoteRel: string,
): string | null {
  if (rule.kind === 'file') return remoteRel === '' ? (rule.only ?? null) : null;
  if (rule.kind === 'dir') return remoteRel;
  const prefix = (rule.strip ?? '').replace(/^\.\//, '');
  const projectRel = prefix ? posix.join(prefix, remoteRel) : remoteRel;
  const base = rule.rootFromProject ?? '';
  if (base === '') return projectRel;
  if (projectRel === base) return '';
  return projectRel.startsWith(base + '/') ? projectRel.slice(base.length + 1) : null;
}
