/**
 * The command line: global options before the command, as with `docker compose`. This file
 * owns the process exit code: every error ends in the one catch below.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ComposeCli, forgetEarly, type EarlyCall } from '../compose/cli.js';
import { EXIT_OK, EXIT_USAGE, formatError } from '../errors.js';
import type { ProjectOptions } from '../core/model.js';

export interface GlobalOptions {
  file?: string[];
  projectName?: string;
  projectDirectory?: string;
  profile?: string[];
  envFile?: string[];
  debug?: boolean;
  color: boolean;
}

/** The package's version, read once from its package.json. */
function version(): string {
  const pkg = JSON.parse(
    readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8'),
  ) as { version: string };
  return pkg.version;
}

/** What every command receives. */
export interface CliContext {
  project: ProjectOptions;
  debug: boolean;
  /** Colour in the output: asked for (no --no-color, no NO_COLOR) and stdout is a terminal. */
  color: boolean;
  /** stdout is an interactive terminal: live task lists instead of plain lines. */
  tty: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
  /** The command line as given (a detached watcher runs it again, without `--detach`). */
  argv: string[];
}

// Each command's module is loaded when the command runs: `status` or `--version` need not load
// the engine client, the dashboard or the task lists (half of the start-up and of the memory).

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function contextFrom(g: GlobalOptions, argv: string[]): CliContext {
  const env = process.env;
  const tty = process.stdout.isTTY === true && env.TERM !== 'dumb';
  // NO_COLOR: any non-empty value disables colour (no-color.org)
  const color = g.color && !env.NO_COLOR && tty;
  return {
    project: {
      files: g.file ?? [],
      projectName: g.projectName,
      projectDirectory: g.projectDirectory,
      profiles: g.profile ?? [],
      envFiles: g.envFile ?? [],
      cwd: process.cwd(),
      env,
    },
    debug: g.debug === true,
    color,
    tty,
    out: (l) => process.stdout.write(l + '\n'),
    err: (l) => process.stderr.write(l + '\n'),
    argv,
  };
}

function buildProgram(run: (p: Promise<number>) => void, argv: string[]): Command {
  const program = new Command('composync')
    .description(
      'Fast, safe file sync into Docker Compose services (x-sync and develop.watch rules)',
    )
    .enablePositionalOptions()
    .showHelpAfterError()
    .version(version(), '-V, --version', 'print the version')
    .option('-f, --file <path>', 'compose file (repeatable)', collect)
    .option('-p, --project-name <name>', 'project name')
    .option('--project-directory <dir>', 'project directory')
    .option('--profile <name>', 'profile to enable (repeatable)', collect)
    .option('--env-file <path>', 'environment file (repeatable)', collect)
    .option('--debug', 'stack traces and engine calls')
    .option('--no-color', 'no colours in the output');

  const ctx = () => contextFrom(program.opts<GlobalOptions>(), argv);
  // The context of a command whose first steps are these compose calls: they start now and run
  // while the command's modules load (`docker compose config` and `docker info` take 0.1-0.3 s
  // each, about what the modules of `sync` or `watch` take to load).
  const starting = (calls: readonly EarlyCall[]) => {
    const c = ctx();
    new ComposeCli(c.project).startEarly(calls);
    return c;
  };
  const MODEL: EarlyCall[] = ['config'];
  const MODEL_ENGINE: EarlyCall[] = ['config', 'engineId'];

  program
    .command('up')
    .description(
      'create the containers, sync into them, start them (depends_on, --wait), and optionally keep watching',
    )
    .argument('[service...]', 'services (default: all)')
    .option('--watch', 'keep watching, syncing and triggering until interrupted')
    .option('--build', 'build images before starting')
    .option('--wait', 'wait until services are healthy')
    .option('--no-logs', 'with --watch: do not stream service logs')
    .option('--no-initial-sync', 'skip the initial sync')
    .option('--poll', 'poll the file system instead of using change events')
    .option('--detach', 'with --watch: keep watching in the background (stop: watch --stop)')
    .option('--ui', 'with --watch: serve the dashboard (see `composync ui`)')
    .option('--ui-port <port>', 'with --ui: the dashboard port (default: a free one)')
    .action((services: string[], o) => {
      const c = starting(MODEL_ENGINE);
      run(import('./cmd-up.js').then((m) => m.runUp(c, services, o)));
    });

  program
    .command('watch')
    .description(
      'as docker compose watch: build and start the services, then watch, sync and trigger',
    )
    .argument('[service...]', 'services (default: all)')
    .option('--no-up', 'do not build and start the services first: watch what runs')
    .option('--prune', 'remove the image a rebuild replaced when it is dangling (default)')
    .option('--no-prune', 'keep the images rebuilds replaced')
    .option('--quiet', 'hide build and start-up output')
    .option('--detach', 'keep watching in the background (stop it with watch --stop)')
    .option('--stop', "stop the project's watcher (detached or not) and exit")
    .option('--no-logs', 'do not stream service logs')
    .option('--no-initial-sync', 'skip the initial sync')
    .option('--poll', 'poll the file system instead of using change events')
    .option('--ui', 'serve the dashboard (see `composync ui`)')
    .option('--ui-port <port>', 'with --ui: the dashboard port (default: a free one)')
    .action((services: string[], o) => {
      // `--stop` loads no model
      const c = o.stop ? ctx() : starting(MODEL_ENGINE);
      run(import('./cmd-up.js').then((m) => m.runWatch(c, services, { ...o, logs: o.logs })));
    });

  program
    .command('sync')
    .description('one reconcile of every rule with its initial-sync strategy, then exit')
    .argument('[service...]', 'services (default: all)')
    .option('--dry-run', 'print the plan per path and change nothing')
    .option('--force', 'resume halted rules: apply the deletions the safety checks held back')
    .action((services: string[], o) => {
      const c = starting(MODEL_ENGINE);
      run(import('./cmd-sync.js').then((m) => m.runSync(c, services, o)));
    });

  program
    .command('push')
    .description(
      'upload local changes; first pulls what changed in the container since the last sync',
    )
    .argument('[service...]', 'services (default: all)')
    .option('--raw', 'no state: upload every local file, overwriting the container')
    .option('--skip-pull', 'do not pull container changes first (conflicts are still kept)')
    .option('--dry-run', 'print the plan per path and change nothing')
    .option('--force', 'resume halted rules: apply the deletions the safety checks held back')
    .action((services: string[], o) => {
      const c = starting(MODEL_ENGINE);
      run(import('./cmd-transfer.js').then((m) => m.runTransfer(c, 'push', services, o)));
    });

  program
    .command('pull')
    .description('download container changes into the local sources (conflicts are kept)')
    .argument('[service...]', 'services (default: all)')
    .option('--raw', 'no state: overwrite local files with every container file')
    .option('--dry-run', 'print the plan per path and change nothing')
    .option('--force', 'resume halted rules: apply the deletions the safety checks held back')
    .action((services: string[], o) => {
      const c = starting(MODEL_ENGINE);
      run(import('./cmd-transfer.js').then((m) => m.runTransfer(c, 'pull', services, o)));
    });

  program
    .command('down')
    .description('stop any watcher of the project, then docker compose down')
    .option('-v, --volumes', 'remove named volumes too')
    .action((o) => {
      const c = starting(MODEL);
      run(import('./cmd-down.js').then((m) => m.runDown(c, o)));
    });

  program
    .command('status')
    .description('per service and rule: state, last sync, files moved, conflicts, problems')
    .option('--json', 'machine-readable output')
    .action((o) => {
      const c = starting(MODEL);
      run(import('./cmd-status.js').then((m) => m.runStatus(c, o)));
    });

  program
    .command('logs')
    .description(
      '`logs sync [SERVICE...]`: the sync event log; `logs [SERVICE...]`: service logs via compose',
    )
    .argument('[service...]', '`sync` (then optionally services), or services')
    .option('-f, --follow', 'follow')
    .option('--json', 'with `sync`: raw JSON lines')
    .option('--since <duration>', 'with `sync`: only events newer than this (e.g. 10m, 1h)')
    .action((services: string[], o) => {
      const c = starting(MODEL);
      run(import('./cmd-logs.js').then((m) => m.runLogs(c, services, o)));
    });

  program
    .command('verify')
    .description(
      'compare local sources with container contents by content hash; exit 1 on any drift',
    )
    .argument('[service...]', 'services (default: all with sync rules)')
    .option('--json', 'machine-readable output')
    .action((services: string[], o) => {
      const c = starting(MODEL_ENGINE);
      run(import('./cmd-verify.js').then((m) => m.runVerify(c, services, o)));
    });

  program
    .command('ui')
    .description(
      "the live dashboard on 127.0.0.1: print the running watcher's address, or serve it here",
    )
    .option('--port <port>', 'port when it is served here (default: a free one)')
    .option('--open', 'open it in the browser')
    .action((o) => {
      const c = starting(MODEL);
      run(import('../ui/index.js').then((m) => m.runUi(c, o)));
    });

  program
    .command('config')
    .description('validate and print the resolved sync model')
    .option('--json', 'machine-readable output')
    .action((o) => {
      const c = starting(MODEL);
      run(import('./cmd-config.js').then((m) => m.runConfig(c, o)));
    });

  program
    .command('schema')
    .description('print the JSON Schema of x-sync (for editors)')
    .action(() => run(import('./cmd-config.js').then((m) => m.runSchema(ctx()))));

  return program;
}

/** Parse and run; resolves to the exit code (never throws). */
export async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> | null = null;
  const program = buildProgram((p) => {
    pending = p;
  }, argv);
  program.exitOverride();
  let debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv, { from: 'user' });
    debug = program.opts<GlobalOptions>().debug === true;
    if (!pending) {
      if (argv.length === 0) {
        program.outputHelp();
        return EXIT_USAGE;
      }
      return EXIT_OK;
    }
    return await pending;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
        return EXIT_OK;
      if (err.code === 'commander.help') return EXIT_OK;
      return EXIT_USAGE; // commander already printed the message and the help hint
    }
    const { text, exitCode } = formatError(err, debug);
    process.stderr.write(text + '\n');
    return exitCode;
  } finally {
    forgetEarly();
  }
}
