/**
 * The error hierarchy. Expected errors carry a message a user can act on and an exit code;
 * the single top-level handler in `cli/main.ts` prints them without a stack (unless --debug).
 * Anything else is a bug: printed with its stack and a request to report it.
 */

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class ComposyncError extends Error {
  readonly exitCode: number;
  /** What the user can do about it, printed after the message. */
  readonly hint?: string;

  constructor(
    message: string,
    options: { exitCode?: number; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? EXIT_FAILED;
    this.hint = options.hint;
  }
}

/** Invalid command line usage. Exit 2. */
export class UsageError extends ComposyncError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT_USAGE, hint });
  }
}

export interface ConfigProblem {
  /** Compose file the problem is in, when known. */
  file?: string;
  /** YAML path such as `services.web.x-sync.sync[0].mode`. */
  path: string;
  message: string;
}

/** Invalid configuration: one or more problems, each with its YAML path. Exit 2. */
export class ConfigError extends ComposyncError {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[], hint?: string) {
    const lines = problems.map((p) => `${p.file ? `${p.file}: ` : ''}${p.path}: ${p.message}`);
    super(
      problems.length === 1
        ? `invalid configuration: ${lines[0]}`
        : `invalid configuration:\n  ${lines.join('\n  ')}`,
      {
        exitCode: EXIT_USAGE,
        hint: hint ?? 'Fix the x-sync section (see `composync schema`) and run again.',
      },
    );
    this.problems = problems;
  }
}

/** The Docker engine cannot be reached or refused a call. Exit 1. */
export class EngineError extends ComposyncError {}

/** The compose CLI is missing or failed. Exit 1. */
export class ComposeError extends ComposyncError {}

/** A sync operation failed as a whole (drift, conflicts, problems left). Exit 1. */
export class SyncFailedError extends ComposyncError {}

/** Render an error for the terminal: message, hint, and the stack only when asked. */
export function formatError(err: unknown, debug: boolean): { text: string; exitCode: number } {
  if (err instanceof ComposyncError) {
    let text = `composync: ${err.message}`;
    if (err.hint) text += `\n${err.hint}`;
    if (debug && err.stack) text += `\n\n${err.stack}`;
    if (debug && err.cause instanceof Error && err.cause.stack)
      text += `\ncause: ${err.cause.stack}`;
    return { text, exitCode: err.exitCode };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    text:
      `composync: unexpected error: ${e.message}\n` +
      (debug ? `${e.stack ?? ''}\n` : 'Run again with --debug for the stack trace.\n') +
      'This is a bug in composync; please report it with the command you ran.',
    exitCode: EXIT_FAILED,
  };
}
