/**
 * Which compose files a command uses and which directory is the project directory, by compose's
 * own rules (compose-go's project options): `-f` files; else COMPOSE_FILE (from the environment,
 * or from the env files / the `.env` of the working directory), split on COMPOSE_PATH_SEPARATOR
 * or the platform's path-list separator; else compose.yaml, compose.yml, docker-compose.yml or
 * docker-compose.yaml (plus the first matching override file) in the working directory or its
 * nearest parent that has one. The project directory is `--project-directory`, else the
 * directory of the first compose file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import type { ProjectOptions } from '../core/model.js';

export const DEFAULT_FILE_NAMES = [
  'compose.yaml',
  'compose.yml',
  'docker-compose.yml',
  'docker-compose.yaml',
];
export const DEFAULT_OVERRIDE_FILE_NAMES = [
  'compose.override.yml',
  'compose.override.yaml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
];

export interface ComposeFiles {
  /** Absolute paths, in merge order. Empty when compose would find none. */
  files: string[];
  /** Absolute project directory. */
  projectDir: string;
}

/**
 * Find the compose files and project directory compose will use for these options. Files read
 * from stdin (`-f -`) and remote resources are skipped: they cannot be located on disk.
 */
export function findComposeFiles(opts: ProjectOptions): ComposeFiles {
  const cwd = resolve(opts.cwd);
  const workingDir = opts.projectDirectory ? resolve(cwd, opts.projectDirectory) : undefined;
  let files = opts.files.filter(isLocal).map((f) => resolve(cwd, f));

  if (files.length === 0) {
    const env = composeEnvironment(opts, workingDir ?? cwd);
    const fromEnv = env.COMPOSE_FILE;
    if (fromEnv !== undefined && fromEnv !== '') {
      const sepChar = env.COMPOSE_PATH_SEPARATOR || delimiter;
      files = fromEnv
        .split(sepChar)
        .filter((f) => f !== '' && isLocal(f))
        .map((f) => resolve(cwd, f));
    } else {
      files = defaultFiles(workingDir ?? cwd);
    }
  }
  const first = files[0];
  return {
    files,
    projectDir: workingDir ?? (first !== undefined ? dirname(first) : cwd),
  };
}

/**
 * The variables compose sees for its own settings: the process environment, completed (never
 * overridden) by the `--env-file` files, or by `.env` in the working directory when none is given.
 */
function composeEnvironment(opts: ProjectOptions, workingDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const envFiles = opts.envFiles.length
    ? opts.envFiles.map((f) => resolve(opts.cwd, f))
    : [join(workingDir, '.env')];
  for (const f of envFiles) {
    if (!existsSync(f)) continue;
    try {
      Object.assign(out, parseEnv(readFileSync(f, 'utf8')));
    } catch {
      // Unreadable env files are compose's to report.
    }
  }
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) out[k] = v;
  return out;
}

function defaultFiles(start: string): string[] {
  let dir = start;
  for (;;) {
    const main = DEFAULT_FILE_NAMES.map((n) => join(dir, n)).find((f) => existsSync(f));
    if (main) {
      const override = DEFAULT_OVERRIDE_FILE_NAMES.map((n) => join(dir, n)).find((f) =>
        existsSync(f),
      );
      return override ? [main, override] : [main];
    }
    const parent = dirname(dir);
    if (parent === dir) return [];
    dir = parent;
  }
}

function isLocal(f: string): boolean {
  return f !== '-' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(f) && !/^oci:/i.test(f);
}
