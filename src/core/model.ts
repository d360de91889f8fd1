/**
 * The resolved sync model: what `composync config` prints and every command acts on.
 * Pure data, produced by `config/` from `docker compose config`, consumed by `session/`.
 */

export const MODES = [
  'one-way-safe',
  'one-way-replica',
  'one-way-reverse',
  'one-way-replica-reverse',
  'two-way-safe',
  'two-way-resolved',
] as const;
export type Mode = (typeof MODES)[number];

/** Aliases accepted in configuration, mapped to their canonical mode. */
export const MODE_ALIASES: Record<string, Mode> = {
  'one-way': 'one-way-safe',
  'two-way': 'two-way-safe',
};

export const INITIAL_SYNCS = [
  'mirrorLocal',
  'preferLocal',
  'preferRemote',
  'preferNewest',
  'mirrorRemote',
  'keepAll',
  'disabled',
] as const;
export type InitialSync = (typeof INITIAL_SYNCS)[number];

/** Paths never synced, whatever the configuration says (dockerignore syntax). */
export const BUILTIN_EXCLUDES = [
  '.git',
  '**/.git',
  '.composync',
  '**/.composync',
  '**/*.swp',
  '**/*~',
  '**/.#*',
  '**/4913',
  '**/*___jb_tmp___',
  '**/*___jb_old___',
];

export interface SyncRule {
  /** Stable id: `<service>/<index>`, used for state files and log lines. */
  id: string;
  service: string;
  index: number;
  /** Where the rule came from, for error messages: `services.web.x-sync.sync[0]`. */
  yamlPath: string;
  origin: 'x-sync' | 'develop.watch';
  /**
   * Absolute local directory that is watched and scanned. For a directory source it is the
   * source itself; for a file source its parent directory (with `only` set); for a glob
   * source the glob's static base directory.
   */
  root: string;
  /** The source as written (for display). */
  source: string;
  kind: 'dir' | 'file' | 'glob';
  /** File source: the only root-relative path that belongs to the rule. */
  only?: string;
  /** Glob source: dockerignore-syntax pattern, relative to `root`, that a path must match. */
  glob?: string;
  /**
   * Glob source: root's path relative to the project directory (posix, '' when equal),
   * joined before `strip` is applied.
   */
  rootFromProject?: string;
  strip?: string;
  /** Container path: absolute, or relative to the image's WORKDIR (resolved per container). */
  target: string;
  mode: Mode;
  initialSync: InitialSync;
  /** dockerignore patterns relative to `root`, merged: top level, service, rule, built-ins. */
  exclude: string[];
  /** When non-empty, only paths matching one of these patterns (relative to root) belong. */
  include: string[];
  uploadExclude: string[];
  downloadExclude: string[];
  owner?: string | number;
  group?: string | number;
  /** Permission bits, e.g. 0o644. */
  fileMode?: number;
  dirMode?: number;
  symlinks: 'preserve' | 'ignore';
}

export interface RestartRule {
  /** Globs relative to the project directory (posix, no leading './'). */
  paths: string[];
  /** Send this signal to PID 1 instead of restarting. */
  signal?: string;
  yamlPath: string;
}

export interface ExecRule {
  paths: string[];
  /** Array: run without a shell. String: run with `sh -c`. */
  command: string[] | string;
  /**
   * `host`: run once per batch on the developer's machine (after the batch is confirmed in the
   * containers), `workdir` then an absolute local directory. Absent: in every container.
   */
  on?: 'host';
  user?: string;
  workdir?: string;
  env: Record<string, string>;
  yamlPath: string;
}

export interface ServiceSync {
  name: string;
  rules: SyncRule[];
  /** Globs relative to the project directory. */
  rebuild: string[];
  restart: RestartRule[];
  exec: ExecRule[];
  /**
   * Milliseconds of quiet before a batch is sent (an edit of synced files after an idle period
   * goes out on the leading edge instead: Session.eager).
   */
  debounce: number;
  /** A batch is sent at the latest this many milliseconds after its first event. */
  maxWait: number;
  /** Share (0..1] of a side a scan may delete through paths no sync recorded (core/safety). */
  deleteGuard: number;
  /** The service has a `build:` section (can be rebuilt). */
  buildable: boolean;
}

export interface SyncModel {
  projectName: string;
  /** Absolute project directory. */
  projectDir: string;
  /** Compose files in use (absolute). */
  composeFiles: string[];
  /** Services that have sync rules or triggers, in compose order. */
  services: ServiceSync[];
  /** Every service of the compose project (with or without sync). */
  allServices: string[];
}

export const DEFAULT_DEBOUNCE_MS = 5;
export const DEFAULT_MAX_WAIT_MS = 250;
export const DEFAULT_DELETE_GUARD = 0.5;

/** How to find the compose project: the global options of SPEC §2 (COMPOSE_* come via env). */
export interface ProjectOptions {
  /** -f/--file, in order. Empty: compose's own lookup (COMPOSE_FILE, compose.yaml, ...). */
  files: string[];
  projectName?: string;
  projectDirectory?: string;
  profiles: string[];
  envFiles: string[];
  /** Working directory the command was started in. */
  cwd: string;
  /** Environment passed to the compose CLI (DOCKER_HOST, COMPOSE_*, ...). */
  env: NodeJS.ProcessEnv;
}
