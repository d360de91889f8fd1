/**
 * From the resolved compose model (the parsed output of `docker compose config`) to the
 * {@link SyncModel}: validation of every `x-sync` (schema.ts), `$$` unescaping, mode aliases
 * and defaults, source kinds, merged excludes, triggers, and the drop-in mapping of
 * `develop.watch`. Pure: the only view of the file system is `ctx.stat`. Never throws on bad
 * input; every problem is collected with its YAML path.
 */
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import {
  BUILTIN_EXCLUDES,
  DEFAULT_DEBOUNCE_MS,
  DEFAULT_DELETE_GUARD,
  DEFAULT_MAX_WAIT_MS,
  MODE_ALIASES,
  type ExecRule,
  type Mode,
  type RestartRule,
  type ServiceSync,
  type SyncModel,
  type SyncRule,
} from '../core/model.js';
import { modeSpec } from '../core/modes.js';
import {
  normalizeSignal,
  parseFileMode,
  serviceXSyncObjectSchema,
  syncListSchema,
  syncRuleSchema,
  topXSyncSchema,
  type ExecEntryInput,
  type RestartEntryInput,
  type SyncRuleInput,
  type TopXSyncInput,
} from './schema.js';
import { dockerignorePatterns, rebasePattern } from './rebase-patterns.js';
import {
  describeValue,
  formatYamlPath,
  issuesToProblems,
  type PathSegment,
  type RawProblem,
} from './yaml-path.js';

/** What {@link normalize} needs to know besides the compose model. */
export interface NormalizeContext {
  /** Absolute project directory: x-sync paths are relative to it. */
  projectDir: string;
  /** Compose files in use (absolute), copied into the model. */
  composeFiles: string[];
  /** Project name when the model has no `name:` (compose always prints one). */
  projectName?: string;
  /** What is at an absolute local path: a directory, a file, or nothing (null). */
  stat(absPath: string): 'dir' | 'file' | null;
  /**
   * The text of a local file, or null when it cannot be read. Used for the build context's
   * `.dockerignore` of develop.watch services; without it no `.dockerignore` is applied.
   */
  readText?(absPath: string): string | null;
}

export interface NormalizeResult {
  model: SyncModel;
  /** Configuration errors; the model is incomplete when there are any. */
  problems: ConfigProblem[];
  warnings: string[];
}

/** Initial-sync strategies allowed per direction: a strategy never writes where a mode may not. */
const GLOB_CHARS = /[*?[{]/;

/**
 * Normalise a resolved compose model into the sync model.
 *
 * Semantics worth knowing:
 * - x-sync paths (sources, trigger globs) are relative to the project directory.
 * - Excludes of a rule, in order: top-level, service, rule, built-ins. Rule-level patterns keep
 *   dockerignore semantics relative to the source (`*.log` matches at the source's root only).
 *   Top-level and service patterns apply to every rule, so like `.gitignore` (and Mutagen's
 *   ignores) a pattern without a slash other than a trailing one matches at any depth:
 *   `node_modules/` and `*.log` become `**\/node_modules/` and `**\/*.log`; a leading `/`
 *   anchors a pattern at each source's root.
 * - `$$` becomes `$` in every x-sync and develop.watch string (compose prints them escaped).
 */
export function normalize(doc: unknown, ctx: NormalizeContext): NormalizeResult {
  const problems: RawProblem[] = [];
  const warnings: string[] = [];
  const projectDir = resolve(ctx.projectDir);
  const root = isRecord(doc) ? doc : {};
  if (!isRecord(doc)) problems.push({ path: [], message: 'expected a compose model (a mapping)' });

  const servicesNode = root.services;
  const services = isRecord(servicesNode) ? servicesNode : {};
  if (servicesNode !== undefined && !isRecord(servicesNode))
    problems.push({
      path: ['services'],
      message: `expected a mapping, got ${describeValue(servicesNode)}`,
    });

  // Top-level defaults.
  let top: TopXSyncInput = {};
  if (root['x-sync'] !== undefined) {
    const raw = unescapeDollars(root['x-sync']);
    const parsed = validate(
      topXSyncSchema,
      raw,
      ['x-sync'],
      problems,
      'a mapping of defaults (exclude, debounce, maxWait, deleteGuard)',
    );
    if (parsed) top = parsed;
  }

  const state: Shared = {
    projectDir,
    stat: ctx.stat,
    readText: ctx.readText ?? (() => null),
    problems,
    warnings,
    top,
  };
  const model: SyncModel = {
    projectName:
      typeof root.name === 'string' && root.name !== ''
        ? root.name
        : (ctx.projectName ?? posix.basename(projectDir.split(sep).join('/'))),
    projectDir,
    composeFiles: [...ctx.composeFiles],
    services: [],
    allServices: Object.keys(services),
  };

  for (const [name, svc] of Object.entries(services)) {
    if (!isRecord(svc)) continue;
    const base: PathSegment[] = ['services', name];
    const develop = isRecord(svc.develop) ? svc.develop : undefined;
    let out: ServiceSync | null = null;
    if (svc['x-sync'] !== undefined) {
      if (develop?.watch !== undefined)
        warnings.push(
          `${formatYamlPath(base)}: has both x-sync and develop.watch; develop.watch is ignored`,
        );
      out = fromXSync(name, svc['x-sync'], svc, state);
    } else if (develop?.watch !== undefined) {
      out = fromDevelopWatch(name, develop.watch, svc, state);
    }
    if (out) model.services.push(out);
  }

  return {
    model,
    problems: problems.map((p) => ({ path: formatYamlPath(p.path), message: p.message })),
    warnings,
  };
}

interface Shared {
  projectDir: string;
  stat: NormalizeContext['stat'];
  readText: (absPath: string) => string | null;
  problems: RawProblem[];
  warnings: string[];
  top: TopXSyncInput;
}

// ---------------------------------------------------------------------------------------------
// x-sync

function fromXSync(
  name: string,
  value: unknown,
  svc: Record<string, unknown>,
  st: Shared,
): ServiceSync | null {
  const base: PathSegment[] = ['services', name, 'x-sync'];
  const raw = unescapeDollars(value);
  let obj: z.infer<typeof serviceXSyncObjectSchema> | null;
  let rawRules: unknown;
  let rulesPath: PathSegment[];
  if (Array.isArray(raw)) {
    // Shorthand: a bare list of rules; paths stay as the user wrote them (x-sync[0]).
    const list = validate(syncListSchema, raw, base, st.problems, 'a list');
    obj = list ? { sync: list } : null;
    rawRules = raw;
    rulesPath = base;
  } else if (isRecord(raw)) {
    obj = validate(serviceXSyncObjectSchema, raw, base, st.problems, 'a mapping');
    rawRules = raw.sync;
    rulesPath = [...base, 'sync'];
  } else {
    st.problems.push({
      path: base,
      message: `expected a list of sync rules or a mapping with sync, rebuild, restart, exec, exclude, debounce, maxWait, deleteGuard; got ${describeValue(raw)}`,
    });
    return null;
  }

  const serviceExclude =
    obj?.exclude ?? (isRecord(raw) && isStringArray(raw.exclude) ? raw.exclude : []);
  const shared = [...(st.top.exclude ?? []), ...serviceExclude].map(anyDepthPattern);

  // Rules are checked one by one, so a rule's semantic problems are reported even when a
  // sibling rule (or another key) failed the schema.
  const rules: SyncRule[] = [];
  if (Array.isArray(rawRules)) {
    rawRules.forEach((r, i) => {
      const parsed = syncRuleSchema.safeParse(r);
      if (!parsed.success) return;
      const rule = normalizeRule(parsed.data, name, i, [...rulesPath, i], shared, st);
      if (rule) rules.push(rule);
    });
  }
  if (!obj) return null;
  const problemsBefore = st.problems.length;
  const restart = (obj.restart ?? []).map((e, i) => restartRule(e, [...base, 'restart', i], st));
  const exec = (obj.exec ?? []).map((e, i) => execRule(e, [...base, 'exec', i], st));
  // A rule that failed its semantic checks has already been reported.
  if (rules.length !== (obj.sync ?? []).length || st.problems.length !== problemsBefore)
    return null;

  const svcOut: ServiceSync = {
    name,
    rules,
    rebuild: (obj.rebuild ?? []).map((g) => projectGlob(g, st.projectDir)),
    restart,
    exec,
    ...timing(obj, st.top),
    buildable: svc.build !== undefined && svc.build !== null,
  };
  if (svcOut.maxWait < svcOut.debounce)
    st.warnings.push(
      `${formatYamlPath(base)}: maxWait (${svcOut.maxWait} ms) is shorter than debounce (${svcOut.debounce} ms); batches are sent after maxWait`,
    );
  if (svcOut.rebuild.length > 0 && !svcOut.buildable)
    st.warnings.push(
      `${formatYamlPath([...base, 'rebuild'])}: service ${name} has no build section, so there is no image to rebuild`,
    );
  if (
    rules.length === 0 &&
    svcOut.rebuild.length === 0 &&
    restart.length === 0 &&
    exec.length === 0
  )
    st.warnings.push(`${formatYamlPath(base)}: no sync rules or triggers`);
  return svcOut;
}

function normalizeRule(
  r: SyncRuleInput,
  service: string,
  index: number,
  path: PathSegment[],
  sharedExclude: string[],
  st: Shared,
): SyncRule | null {
  const mode: Mode = r.mode ? (MODE_ALIASES[r.mode] ?? (r.mode as Mode)) : 'one-way-safe';
  const spec = modeSpec(mode);
  const initialSync = r.initialSync ?? spec.defaultInitialSync;
  const allowed = spec.initialSyncs;
  if (!allowed.includes(initialSync)) {
    const side = spec.direction === 'up' ? 'local files' : 'the container';
    st.problems.push({
      path: [...path, 'initialSync'],
      message: `initialSync "${initialSync}" would change ${side}, which mode ${mode} never does; expected one of: ${allowed.join(', ')}`,
    });
    return null;
  }

  const escape = targetEscape(r.target);
  if (escape) {
    st.problems.push({ path: [...path, 'target'], message: escape });
    return null;
  }

  const src = resolveSource(r.source, st.projectDir, st.stat);
  if (src.warning) st.warnings.push(`${formatYamlPath([...path, 'source'])}: ${src.warning}`);
  let strip: string | undefined;
  if (r.strip !== undefined && r.strip !== '') {
    if (src.kind === 'glob') strip = r.strip.replace(/^(\.\/)+/, '').replace(/\/*$/, '/');
    else
      st.warnings.push(
        `${formatYamlPath([...path, 'strip'])}: strip applies to glob sources only; ignored`,
      );
  }

  const rule: SyncRule = {
    id: `${service}/${index}`,
    service,
    index,
    yamlPath: formatYamlPath(path),
    origin: 'x-sync',
    root: src.root,
    source: r.source,
    kind: src.kind,
    target: r.target,
    mode,
    initialSync,
    exclude: [...sharedExclude, ...(r.exclude ?? []).map(rulePattern), ...BUILTIN_EXCLUDES],
    include: (r.include ?? []).map(rulePattern),
    uploadExclude: (r.uploadExclude ?? []).map(rulePattern),
    downloadExclude: (r.downloadExclude ?? []).map(rulePattern),
    symlinks: r.symlinks ?? 'preserve',
  };
  if (src.only !== undefined) rule.only = src.only;
  if (src.glob !== undefined) rule.glob = src.glob;
  if (src.rootFromProject !== undefined) rule.rootFromProject = src.rootFromProject;
  if (strip !== undefined) rule.strip = strip;
  if (r.owner !== undefined) rule.owner = idOrName(r.owner);
  if (r.group !== undefined) rule.group = idOrName(r.group);
  if (r.fileMode !== undefined) rule.fileMode = parseFileMode(r.fileMode);
  if (r.dirMode !== undefined) rule.dirMode = parseFileMode(r.dirMode);
  return rule;
}

function restartRule(e: RestartEntryInput, path: PathSegment[], st: Shared): RestartRule {
  if (typeof e === 'string')
    return { paths: [projectGlob(e, st.projectDir)], yamlPath: formatYamlPath(path) };
  const out: RestartRule = {
    paths: e.paths.map((g) => projectGlob(g, st.projectDir)),
    yamlPath: formatYamlPath(path),
  };
  if (e.signal !== undefined) out.signal = normalizeSignal(e.signal) ?? String(e.signal);
  return out;
}

function execRule(e: ExecEntryInput, path: PathSegment[], st: Shared): ExecRule {
  const env: Record<string, string> = {};
  if (Array.isArray(e.env)) {
    e.env.forEach((kv, i) => {
      const eq = kv.indexOf('=');
      if (eq <= 0)
        st.problems.push({
          path: [...path, 'env', i],
          message: `expected KEY=VALUE, got ${JSON.stringify(kv)}`,
        });
      else env[kv.slice(0, eq)] = kv.slice(eq + 1);
    });
  } else if (e.env) {
    for (const [k, v] of Object.entries(e.env)) env[k] = String(v);
  }
  const out: ExecRule = {
    paths: e.paths.map((g) => projectGlob(g, st.projectDir)),
    command: e.command,
    env,
    yamlPath: formatYamlPath(path),
  };
  if (e.on === 'host') {
    out.on = 'host';
    if (e.user !== undefined)
      st.problems.push({
        path: [...path, 'user'],
        message:
          'user applies to commands run in the container; a command with on: host runs as you (remove user, or run it in the container)',
      });
    // a local directory, relative to the project directory (the default)
    out.workdir = resolve(st.projectDir, e.workdir ?? '.');
    return out;
  }
  if (e.user !== undefined) out.user = String(e.user);
  if (e.workdir !== undefined) out.workdir = e.workdir;
  return out;
}

// ---------------------------------------------------------------------------------------------
// develop.watch (drop-in)

const watchEntrySchema = z.looseObject({
  path: z.string().min(1),
  action: z.enum(['sync', 'rebuild', 'restart', 'sync+restart', 'sync+exec'], {
    error: (iss) =>
      `unknown action ${JSON.stringify(iss.input)}; expected one of: sync, rebuild, restart, sync+restart, sync+exec`,
  }),
  target: z.string().optional(),
  ignore: z.array(z.string()).optional(),
  include: z.array(z.string()).optional(),
  initial_sync: z.boolean().optional(),
  exec: z
    .looseObject({
      command: z.union([z.array(z.string()).min(1), z.string().min(1)]),
      user: z.string().optional(),
      working_dir: z.string().optional(),
      environment: z
        .union([
          z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
          z.array(z.string()),
        ])
        .optional(),
    })
    .optional(),
});
const watchListSchema = z.array(watchEntrySchema);

/**
 * Compose's `develop.watch`, for a service without x-sync. `sync*` actions become one-way-safe
 * rules (compose only ever copies local -> container); `ignore` and `include` are relative to
 * `path` as in compose, and the top-level x-sync defaults apply as to any service.
 *
 * Initial sync: compose copies nothing when a watch starts unless `initial_sync: true`, and
 * composync keeps that: without it the rule's strategy is `disabled` (the image is trusted to
 * hold the sources it was built from), with it `preferLocal` (upload what is missing or
 * differs, never delete container files), which is what compose's initial sync does.
 *
 * Triggers fire on `path` and everything below it; `ignore` patterns become `!` exclusions of
 * the trigger's globs, so an ignored change does not rebuild or restart, as in compose.
 *
 * Like compose, the build context's `.dockerignore` (or `<Dockerfile>.dockerignore`) applies to
 * every entry: its patterns are rebased onto each rule's root (excludes) and each trigger path
 * (`!` exclusions). Its `!` re-includes are kept for rules but not for triggers, which may only
 * exclude (a re-included file does not fire a trigger).
 */
function fromDevelopWatch(
  name: string,
  value: unknown,
  svc: Record<string, unknown>,
  st: Shared,
): ServiceSync | null {
  const base: PathSegment[] = ['services', name, 'develop', 'watch'];
  const raw = unescapeDollars(value);
  const entries = validate(watchListSchema, raw, base, st.problems, 'a list');
  if (!entries) return null;

  const shared = (st.top.exclude ?? []).map(anyDepthPattern);
  const di = buildDockerignore(svc.build, st);
  const out: ServiceSync = {
    name,
    rules: [],
    rebuild: [],
    restart: [],
    exec: [],
    ...timing({}, st.top),
    buildable: svc.build !== undefined && svc.build !== null,
  };
  entries.forEach((e, i) => {
    const path: PathSegment[] = [...base, i];
    const yamlPath = formatYamlPath(path);
    const abs = resolve(st.projectDir, e.path);
    const rel = toPosix(relative(st.projectDir, abs));
    const ignore = (e.ignore ?? []).map(rulePattern);
    const isFile = st.stat(abs) === 'file';
    const triggerPaths = [
      ...(rel === '' ? ['**'] : isFile ? [rel] : [rel, `${rel}/**`]),
      ...(di ? triggerExclusions(di, abs, rel) : []),
      ...ignore.map((p) => negateUnder(rel, p)),
    ];
    const syncs = e.action.startsWith('sync');
    if (syncs) {
      if (e.target === undefined || e.target === '') {
        st.problems.push({
          path: [...path, 'target'],
          message: `missing: action ${e.action} needs a target (a container path)`,
        });
        return;
      }
      const kind = isFile ? 'file' : 'dir';
      if (st.stat(abs) === null)
        st.warnings.push(
          `${yamlPath}.path: ${e.path} does not exist yet; it is treated as a directory`,
        );
      const index = out.rules.length;
      const root = kind === 'file' ? posixDirname(abs) : abs;
      const fromDockerignore = di ? ruleExclusions(di, root) : [];
      if (fromDockerignore.includes('**'))
        st.warnings.push(
          `${yamlPath}.path: ${e.path} is excluded by ${di!.file}; like compose, composync syncs nothing from it`,
        );
      const rule: SyncRule = {
        id: `${name}/${index}`,
        service: name,
        index,
        yamlPath,
        origin: 'develop.watch',
        root,
        source: e.path,
        kind,
        target: e.target,
        mode: 'one-way-safe',
        initialSync: e.initial_sync === true ? 'preferLocal' : 'disabled',
        exclude: [...shared, ...fromDockerignore, ...ignore, ...BUILTIN_EXCLUDES],
        include: (e.include ?? []).map(rulePattern),
        uploadExclude: [],
        downloadExclude: [],
        symlinks: 'preserve',
      };
      if (kind === 'file') rule.only = basenameOf(abs);
      out.rules.push(rule);
    }
    if (e.action === 'rebuild') out.rebuild.push(...triggerPaths);
    if (e.action === 'restart' || e.action === 'sync+restart')
      out.restart.push({ paths: triggerPaths, yamlPath });
    if (e.action === 'sync+exec') {
      if (!e.exec) {
        st.problems.push({
          path: [...path, 'exec'],
          message: 'missing: action sync+exec needs exec.command',
        });
        return;
      }
      const env: Record<string, string> = {};
      if (Array.isArray(e.exec.environment)) {
        for (const kv of e.exec.environment) {
          const eq = kv.indexOf('=');
          if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
      } else if (e.exec.environment) {
        for (const [k, v] of Object.entries(e.exec.environment)) if (v !== null) env[k] = String(v);
      }
      const rule: ExecRule = { paths: triggerPaths, command: e.exec.command, env, yamlPath };
      if (e.exec.user) rule.user = e.exec.user;
      if (e.exec.working_dir) rule.workdir = e.exec.working_dir;
      out.exec.push(rule);
    }
  });
  return out;
}

interface BuildIgnore {
  /** Absolute build context. */
  context: string;
  /** The ignore file (absolute), for messages. */
  file: string;
  patterns: string[];
}

/** The build's ignore file as compose watch reads it: `<Dockerfile>.dockerignore`, else `.dockerignore`. */
function buildDockerignore(build: unknown, st: Shared): BuildIgnore | null {
  let context: string | undefined;
  let dockerfile = 'Dockerfile';
  if (typeof build === 'string') context = build;
  else if (isRecord(build)) {
    if (typeof build.context === 'string') context = build.context;
    if (typeof build.dockerfile === 'string') dockerfile = build.dockerfile;
  }
  if (context === undefined) return null;
  const ctxDir = resolve(st.projectDir, context);
  for (const file of [join(ctxDir, `${dockerfile}.dockerignore`), join(ctxDir, '.dockerignore')]) {
    const text = st.readText(file);
    if (text !== null) return { context: ctxDir, file, patterns: dockerignorePatterns(text) };
  }
  return null;
}

/** Segments from the build context down to `dir`, or null when `dir` is outside it. */
function segmentsBelow(context: string, dir: string): string[] | null {
  const rel = toPosix(relative(context, dir));
  if (rel === '') return [];
  if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) return null;
  return rel.split('/');
}

function ruleExclusions(di: BuildIgnore, root: string): string[] {
  const below = segmentsBelow(di.context, root);
  if (below === null) return [];
  return di.patterns
    .flatMap((p) => rebasePattern(p, below))
    .map((r) => (r === '' ? '**' : r === '!' ? '!**' : r));
}

function triggerExclusions(di: BuildIgnore, abs: string, rel: string): string[] {
  const below = segmentsBelow(di.context, abs);
  if (below === null) return [];
  return di.patterns
    .filter((p) => !p.startsWith('!'))
    .flatMap((p) => rebasePattern(p, below))
    .map((r) => {
      if (rel === '') return r === '' ? '!**' : `!${r}`;
      return r === '' ? `!${rel}` : `!${rel}/${r}`;
    });
}

// ---------------------------------------------------------------------------------------------
// helpers

function validate<T extends z.ZodType>(
  schema: T,
  raw: unknown,
  path: PathSegment[],
  problems: RawProblem[],
  expected: string,
): z.infer<T> | null {
  if (raw === null) {
    problems.push({ path, message: `expected ${expected}, got an empty value` });
    return null;
  }
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  problems.push(...issuesToProblems(r.error.issues, path, raw));
  return null;
}

function timing(
  own: { debounce?: number; maxWait?: number; deleteGuard?: number },
  top: TopXSyncInput,
): Pick<ServiceSync, 'debounce' | 'maxWait' | 'deleteGuard'> {
  return {
    debounce: own.debounce ?? top.debounce ?? DEFAULT_DEBOUNCE_MS,
    maxWait: own.maxWait ?? top.maxWait ?? DEFAULT_MAX_WAIT_MS,
    deleteGuard: own.deleteGuard ?? top.deleteGuard ?? DEFAULT_DELETE_GUARD,
  };
}

/** Where a source lives and what kind it is (see SyncRule.root). */
export function resolveSource(
  source: string,
  projectDir: string,
  stat: NormalizeContext['stat'],
): Pick<SyncRule, 'root' | 'kind' | 'only' | 'glob' | 'rootFromProject'> & { warning?: string } {
  const abs = resolve(projectDir, source);
  const kind = stat(abs);
  if (kind === 'dir') return { root: abs, kind: 'dir' };
  if (kind === 'file') return { root: posixDirname(abs), kind: 'file', only: basenameOf(abs) };
  const parts = toPosix(source).split('/');
  const firstGlob = parts.findIndex((p) => GLOB_CHARS.test(p));
  if (firstGlob >= 0) {
    const staticPart = parts.slice(0, firstGlob).join('/');
    const root = resolve(
      projectDir,
      staticPart === '' ? (isAbsolute(source) ? '/' : '.') : staticPart,
    );
    const out = {
      root,
      kind: 'glob' as const,
      glob: parts.slice(firstGlob).join('/'),
      rootFromProject: toPosix(relative(projectDir, root)),
    };
    return stat(root) === 'dir'
      ? out
      : { ...out, warning: `${staticPart || '.'} does not exist yet` };
  }
  return {
    root: abs,
    kind: 'dir',
    warning: `${source} does not exist yet; it is treated as a directory and synced once it appears`,
  };
}

/**
 * Why a sync target is refused, or null. A target is the one directory composync writes and
 * deletes in (a replica mirror deletes everything else there), so it may not be the container
 * root, nor a relative path that climbs out of the WORKDIR it is joined to.
 */
export function targetEscape(target: string): string | null {
  const norm = posix.normalize(target.replace(/\\/g, '/'));
  const shown = JSON.stringify(target);
  if (target.includes('\0')) return `target ${shown} contains a NUL byte`;
  if (norm === '/' || /^\/(\.\.\/?)*$/.test(norm))
    return `target ${shown} is the container root; name a directory below it (e.g. /app)`;
  if (!target.startsWith('/') && (norm === '..' || norm.startsWith('../')))
    return `target ${shown} leaves the WORKDIR it is relative to; write it as an absolute path`;
  return null;
}

/** Top-level and service excludes: a pattern without an inner slash matches at any depth. */
export function anyDepthPattern(pattern: string): string {
  let p = pattern.trim();
  const neg = p.startsWith('!');
  if (neg) p = p.slice(1).trim();
  p = p.replace(/^(\.\/)+/, '');
  if (p.startsWith('/')) p = p.replace(/^\/+/, '');
  else if (!p.replace(/\/+$/, '').includes('/') && p !== '') p = `**/${p}`;
  return (neg ? '!' : '') + p;
}

/** Rule-level patterns keep dockerignore semantics; only a leading './' is dropped. */
function rulePattern(pattern: string): string {
  const neg = pattern.startsWith('!');
  const p = (neg ? pattern.slice(1) : pattern).replace(/^(\.\/)+/, '');
  return (neg ? '!' : '') + p;
}

/** A path relative to `rel` as an exclusion of a trigger glob list (`!web/node_modules`). */
function negateUnder(rel: string, pattern: string): string {
  const neg = pattern.startsWith('!');
  const p = (neg ? pattern.slice(1) : pattern).replace(/^\/+/, '');
  const joined = rel === '' ? p : `${rel}/${p}`;
  return neg ? joined : `!${joined}`;
}

/** Trigger globs: relative to the project directory, posix, without a leading './'. */
export function projectGlob(glob: string, projectDir: string): string {
  let g = toPosix(glob);
  if (isAbsolute(glob)) g = toPosix(relative(projectDir, glob));
  g = g.replace(/^(\.\/)+/, '').replace(/\/{2,}/g, '/');
  return g === '' || g === '.' ? '**' : g;
}

function unescapeDollars(v: unknown): unknown {
  if (typeof v === 'string') return v.replaceAll('$$', '$');
  if (Array.isArray(v)) return v.map(unescapeDollars);
  if (isRecord(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unescapeDollars(x)]));
  return v;
}

function idOrName(v: string | number): string | number {
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

function posixDirname(abs: string): string {
  return resolve(abs, '..');
}

function basenameOf(abs: string): string {
  return toPosix(abs).split('/').pop() ?? '';
}
