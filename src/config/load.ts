/**
 * Load the sync model of a compose project: `docker compose config` (so files, overrides,
 * interpolation, profiles, `extends` and `include` are resolved by compose itself), YAML
 * parsing, {@link normalize}, and problems pointed at the compose file and line that hold them.
 */
import { readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { ComposeCli } from '../compose/cli.js';
import type { ProjectOptions, SyncModel } from '../core/model.js';
import { ComposeError, ConfigError, EXIT_USAGE } from '../errors.js';
import { findComposeFiles } from './compose-files.js';
import { locateProblems } from './locate.js';
import { normalize } from './normalize.js';
import { applyLastXSync, parseRawComposeFile } from './x-sync-files.js';

/** What is at an absolute local path (following symlinks): a directory, a file, or nothing. */
export function statKind(absPath: string): 'dir' | 'file' | null {
  try {
    const s = statSync(absPath);
    return s.isDirectory() ? 'dir' : 'file';
  } catch {
    return null;
  }
}

/** A local file's text, or null when it cannot be read. */
export function readTextFile(absPath: string): string | null {
  try {
    return readFileSync(absPath, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Resolve and validate the project's sync configuration.
 *
 * @returns the model and warnings (compose's own, such as unset variables, and composync's,
 *   such as a source that does not exist yet).
 * @throws ConfigError (exit 2) listing every x-sync / develop.watch problem, each with its YAML
 *   path and `file:line`; ComposeError when compose is missing or rejects the compose files.
 */
export async function loadModel(
  opts: ProjectOptions,
  compose: Pick<ComposeCli, 'config'> = new ComposeCli(opts),
): Promise<{ model: SyncModel; warnings: string[] }> {
  const { yaml, warnings: composeWarnings } = await compose.config().catch((err: unknown) => {
    throw withComposeHint(err);
  });
  let doc: unknown;
  try {
    // compose prints YAML 1.2-compatible output; keep its strings (e.g. "0644") as strings.
    doc = parse(yaml, { maxAliasCount: -1 });
  } catch (err) {
    throw new ComposeError('could not parse the output of `docker compose config`', {
      cause: err,
      exitCode: EXIT_USAGE,
    });
  }
  const { files, projectDir } = findComposeFiles(opts);
  // A later file's x-sync replaces an earlier one's, on every compose version (x-sync-files.ts).
  applyLastXSync(
    doc,
    files.map((f) => parseRawComposeFile(readTextFile(f))),
  );
  const { model, problems, warnings } = normalize(doc, {
    projectDir,
    composeFiles: files,
    stat: statKind,
    readText: readTextFile,
  });
  if (problems.length > 0) throw new ConfigError(locateProblems(problems, files, opts.cwd));
  return { model, warnings: [...composeWarnings, ...warnings] };
}

/**
 * Hints for two compose refusals composync users meet: compose 2.40 cannot merge an x-sync
 * list (the shorthand) in one file with an x-sync mapping in another; an older compose (2.26)
 * rejects develop.watch fields added since (`include`, `initial_sync`).
 */
function withComposeHint(err: unknown): unknown {
  if (!(err instanceof ComposeError)) return err;
  let hint: string | undefined;
  if (/cannot override \S*x-sync/.test(err.message))
    hint =
      'One compose file gives this x-sync as a list of rules and another as a mapping, which ' +
      'this compose version cannot merge. Use the same form in both files, or write ' +
      '`x-sync: !override` in the later file (the later x-sync replaces the earlier one anyway).';
  const field = /develop\.watch\.\d+ Additional property (\S+) is not allowed/.exec(err.message);
  if (field)
    hint =
      `\`${field[1]}\` in develop.watch is newer than this compose (see \`docker compose ` +
      'version`): upgrade compose (composync is tested with 2.40), or leave the field out.';
  return hint ? new ComposeError(err.message, { cause: err, exitCode: err.exitCode, hint }) : err;
}
