/**
 * Path matching for sync rules: dockerignore patterns (through `@balena/dockerignore`), the
 * built-in excludes, `.syncignore`, include lists, file and glob sources, and trigger globs.
 * Pure: callers pass pattern text, never file names to read.
 *
 * All paths are relative to a rule root (or, for trigger globs, to the project directory),
 * posix-separated, without a leading './' or a trailing '/'.
 */
import posix from 'node:path/posix';
import dockerignore, { type Ignore } from '@balena/dockerignore';
import { BUILTIN_EXCLUDES, type SyncRule } from './model.js';
import { isWithin } from './tree.js';

/** The per-source ignore file, dockerignore syntax, read from a rule's root. */
export const SYNCIGNORE_FILE = '.syncignore';

/** Sync direction: `up` is local → container, `down` is container → local. */
export type Direction = 'up' | 'down';

/** True when a relative path is matched (for exclude lists: excluded). */
export type Matcher = (rel: string) => boolean;

// A CommonJS module typed with `export default`: under NodeNext the default import is the
// module object, whose `default` the library sets to the factory itself.
const ignore = dockerignore.default;

// The library memoizes every path it has seen; a long-lived watcher sees an unbounded
// stream of temporary names, so the instance is rebuilt after this many lookups.
const CACHE_LIMIT = 50_000;

/**
 * Compile dockerignore patterns into a predicate, with Docker's semantics: case-sensitive,
 * `*` and `?` stay within one path segment, `**` spans segments, a pattern anchors at the
 * root (`*.log` matches `a.log` but not `dir/a.log`; use `**\/*.log`), a path is matched
 * when it or one of its parent directories is matched, and a later `!pattern` re-includes.
 * Blank lines and `#` comments are skipped. The empty path (the root) never matches.
 */
export function createMatcher(patterns: readonly string[]): Matcher {
  const active = patterns.filter((p) => parsePattern(p) !== null);
  if (active.length === 0) return () => false;
  const build = (): Ignore => ignore({ ignorecase: false }).add([...active]);
  let ig = build();
  let lookups = 0;
  // The library costs about 4 µs a lookup (it tests every pattern against the path and its
  // parent directories); most paths of a tree contain none of the literal text the patterns
  // need, and those are answered without it (1.5 s less for a reconcile of 100,000 paths).
  const needles = requiredLiterals(active);
  return (rel) => {
    if (rel === '') return false;
    if (needles && !needles.some((n) => rel.includes(n))) return false;
    if (++lookups > CACHE_LIMIT) {
      ig = build();
      lookups = 0;
    }
    return ig.ignores(rel);
  };
}

/**
 * Text that a path must contain for one of the patterns to exclude it: a pattern (or a parent
 * directory of the path) can only match where the pattern's plain characters appear, so per
 * positive pattern its longest run of them within one component is needed (`!` patterns only
 * re-include). Null, so every path goes to the library, when a positive pattern has no such
 * run (`*`, `?`) or has characters this does not analyse.
 */
export function requiredLiterals(patterns: readonly string[]): string[] | null {
  const out = new Set<string>();
  for (const raw of patterns) {
    const p = parsePattern(raw);
    // the library reads a pattern climbing out of the root its own way (`!../../a` alone
    // excludes `a`): no shortcut then
    if (p?.parts.includes('..')) return null;
    if (!p || p.negative) continue;
    let best = '';
    for (const part of p.parts) {
      if (part === '**') continue;
      if (OPAQUE.test(part)) return null;
      for (const run of part.split(/[*?]/)) if (run.length > best.length) best = run;
    }
    if (best === '') return null;
    out.add(best);
  }
  return [...out];
}

// Trigger-glob matchers, compiled once per pattern array (the model's arrays are stable).
const globCache = new WeakMap<readonly string[], Matcher>();

/**
 * True when `rel` (relative to the project directory) matches one of `patterns`: trigger
 * globs such as `web/config/**`, `web/nginx.conf` or `web/src/**\/*.css`, in dockerignore
 * syntax (so a directory pattern also matches everything below it). A leading `./` in a
 * pattern is ignored.
 */
export function matchesGlob(patterns: readonly string[], rel: string): boolean {
  let m = globCache.get(patterns);
  if (!m) {
    m = createMatcher(patterns);
    globCache.set(patterns, m);
  }
  return m(rel);
}

/** What {@link PathFilter} needs from a sync rule. */
export type FilterRule = Pick<
  SyncRule,
  'exclude' | 'include' | 'uploadExclude' | 'downloadExclude' | 'kind' | 'only' | 'glob'
>;

/**
 * Decides which paths below a rule's root belong to the rule, per direction. Built from the
 * rule and the current `.syncignore` text, which can be replaced at any time
 * ({@link PathFilter.setSyncignore}); the built-in excludes always apply and cannot be
 * re-included.
 *
 * Layers, each evaluated on its own: built-ins; the source kind (a file source's `only`, a
 * glob source's `glob`); `include` (files only); the rule's `exclude` followed by the
 * `.syncignore` patterns (so `.syncignore` may re-include with `!` what the rule excludes);
 * then `uploadExclude` or `downloadExclude` for the direction asked.
 */
export class PathFilter {
  private readonly rule: FilterRule;
  private readonly builtin: Layer;
  private readonly upload: Layer;
  private readonly download: Layer;
  private readonly include: Matcher | null;
  private readonly includePatterns: ParsedPattern[];
  private readonly glob: { match: Matcher; pattern: ParsedPattern } | null;
  private common: Layer;

  /** @param syncignore the text of the root's `.syncignore`, or null when there is none. */
  constructor(rule: FilterRule, syncignore: string | null = null) {
    this.rule = rule;
    this.builtin = layer(BUILTIN_EXCLUDES);
    this.upload = layer(rule.uploadExclude);
    this.download = layer(rule.downloadExclude);
    this.includePatterns = parseAll(rule.include).filter((p) => !p.negative);
    this.include = this.includePatterns.length > 0 ? createMatcher(rule.include) : null;
    const g = rule.kind === 'glob' && rule.glob ? parsePattern(rule.glob) : null;
    this.glob = g && rule.glob ? { match: createMatcher([rule.glob]), pattern: g } : null;
    this.common = layer(rule.exclude);
    this.setSyncignore(syncignore);
  }

  /** Replace the `.syncignore` patterns (null: the file does not exist). Applies at once. */
  setSyncignore(text: string | null): void {
    const lines = text === null ? [] : text.replace(/^\uFEFF/, '').split(/\r?\n/);
    this.common = layer([...this.rule.exclude, ...lines]);
  }

  /**
   * True when `rel` is not part of the rule for `direction`: excluded by a built-in, the rule,
   * `.syncignore` or the direction's own list, not the file of a file source, not matching a
   * glob source, or (files only) matching no `include` pattern. Directories are kept while
   * files below them may belong (include and glob sources). The root ('') is never excluded.
   */
  excluded(rel: string, isDir: boolean, direction: Direction): boolean {
    if (rel === '') return false;
    if (this.excludedAlways(rel, isDir)) return true;
    return (direction === 'up' ? this.upload : this.download).match(rel);
  }

  /**
   * `excluded(rel, isDir, 'up') && excluded(rel, isDir, 'down')`, with the layers both
   * directions share evaluated once: the path is not part of the rule at all.
   */
  excludedBoth(rel: string, isDir: boolean): boolean {
    if (rel === '') return false;
    if (this.excludedAlways(rel, isDir)) return true;
    return this.upload.match(rel) && this.download.match(rel);
  }

  /** Excluded whatever the direction (built-ins, source kind, include, exclude, .syncignore). */
  private excludedAlways(rel: string, isDir: boolean): boolean {
    if (this.builtin.match(rel)) return true;
    if (this.outsideSource(rel, isDir)) return true;
    if (!isDir && this.include && !this.include(rel)) return true;
    return this.common.match(rel);
  }

  /**
   * True when the directory `rel` and everything below it are excluded in both directions,
   * so watchers and scanners need not descend into it. Conservative: false whenever a `!`
   * pattern, an include pattern or a glob source could still select something below.
   */
  canSkipDir(rel: string): boolean {
    if (rel === '') return false;
    if (this.builtin.match(rel)) return true;
    const { kind, only } = this.rule;
    if (kind === 'file' && only !== undefined && !isWithin(only, rel)) return true;
    if (this.glob && reach(this.glob.pattern, rel) === 'none') return true;
    if (this.include && this.includePatterns.every((p) => reach(p, rel) === 'none')) return true;
    if (skippable(this.common, rel)) return true;
    return skippable(this.upload, rel) && skippable(this.download, rel);
  }

  private outsideSource(rel: string, isDir: boolean): boolean {
    const { kind, only } = this.rule;
    if (kind === 'file' && only !== undefined) {
      return rel !== only && !(isDir && isWithin(only, rel));
    }
    if (this.glob && !this.glob.match(rel)) {
      return !isDir || reach(this.glob.pattern, rel) !== 'below';
    }
    return false;
  }
}

interface ParsedPattern {
  negative: boolean;
  /** Normalized pattern split on '/'. */
  parts: string[];
}

interface Layer {
  match: Matcher;
  negations: ParsedPattern[];
}

function layer(patterns: readonly string[]): Layer {
  return {
    match: createMatcher(patterns),
    negations: parseAll(patterns).filter((p) => p.negative),
  };
}

/** A directory is skippable for a layer when the layer excludes it and no `!` reaches below. */
function skippable(l: Layer, rel: string): boolean {
  return l.match(rel) && !l.negations.some((n) => reach(n, rel) === 'below');
}

function parseAll(patterns: readonly string[]): ParsedPattern[] {
  const out: ParsedPattern[] = [];
  for (const p of patterns) {
    const parsed = parsePattern(p);
    if (parsed) out.push(parsed);
  }
  return out;
}

/** Mirrors the library's pattern clean-up (trim, `!`, Go's filepath.Clean, leading '/'). */
function parsePattern(raw: string): ParsedPattern | null {
  let p = raw.trim();
  if (p === '' || p.startsWith('#')) return null;
  let negative = false;
  if (p.startsWith('!')) {
    negative = true;
    p = p.slice(1).trim();
  }
  if (p === '') return null;
  p = posix.normalize(p).replace(/\/+$/, '').replace(/^\/+/, '');
  if (p === '' || p === '.') return null;
  return { negative, parts: p.split('/') };
}

// Characters the library passes to RegExp unescaped (or treats as escapes): a component with
// any of them is not analysed and counts as possibly matching anything.
const OPAQUE = /[[\]\\()+|{}^]|\*\*/;

/**
 * How far a pattern can reach relative to directory `dir`: 'self' when it matches `dir` or
 * one of its ancestors (so everything below `dir` too), 'below' when it might match only some
 * path strictly below `dir`, 'none' when it can match neither. Errs towards 'below'.
 */
function reach(pattern: ParsedPattern, dir: string): 'self' | 'below' | 'none' {
  const d = dir.split('/');
  const { parts } = pattern;
  for (let i = 0; i < parts.length; i++) {
    if (i === d.length) return 'below';
    const part = parts[i]!;
    if (OPAQUE.test(part)) return 'below';
    if (!componentRegExp(part).test(d[i]!)) return 'none';
  }
  return 'self';
}

const componentCache = new Map<string, RegExp>();

function componentRegExp(part: string): RegExp {
  let re = componentCache.get(part);
  if (!re) {
    const src = part.replace(/[.$]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
    re = new RegExp(`^${src}$`);
    componentCache.set(part, re);
  }
  return re;
}
