/**
 * The `x-sync` schema (SPEC §3) in zod: the single source for validation and for the JSON Schema
 * printed by `composync schema`. It describes the input as written in compose files; meaning
 * (defaults, mode/strategy compatibility, path resolution) lives in `normalize.ts`.
 */
import { z } from 'zod';
import { INITIAL_SYNCS, MODES, MODE_ALIASES } from '../core/model.js';
import { modesDescription } from '../core/modes.js';

/** Linux signal numbers (containers run Linux whatever the host is). */
export const LINUX_SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/**
 * Normalise a signal written as `SIGHUP`, `HUP`, `hup` or `1` to its `SIGHUP` form;
 * null when it is not a Linux signal.
 */
export function normalizeSignal(input: string | number): string | null {
  const s = String(input).trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return Object.keys(LINUX_SIGNALS).find((k) => LINUX_SIGNALS[k] === n) ?? null;
  }
  const upper = s.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return name in LINUX_SIGNALS ? name : null;
}

/** `"0644"`, `"644"` or `"0o644"`: an octal permission string. */
export const OCTAL_MODE_RE = /^(0o?)?[0-7]{3,4}$/;

/** Parse a permission mode as written (octal string, or a number already holding the bits). */
export function parseFileMode(v: string | number): number {
  return typeof v === 'number' ? v : parseInt(v.replace(/^0o/, ''), 8);
}

const modeNames = [...MODES, ...Object.keys(MODE_ALIASES)] as [string, ...string[]];

const patterns = (what: string) =>
  z.array(z.string()).meta({ description: what, examples: [['node_modules/', '*.log']] });

const ms = (what: string) =>
  z
    .number()
    .int({ error: 'expected a whole number of milliseconds' })
    .min(0, { error: 'expected a number of milliseconds >= 0' })
    .meta({ description: what });

const deleteGuard = z
  .number()
  .gt(0, { error: 'expected a share greater than 0 and at most 1 (e.g. 0.5)' })
  .max(1, { error: 'expected a share greater than 0 and at most 1 (e.g. 0.5)' })
  .meta({
    description:
      'A scan-based reconcile (start, `sync`, a container start) that would delete more than this share (0..1] of a side through paths no earlier sync recorded holds those deletions back and halts the rule (resume: `composync sync --force SERVICE`). Deletions of synced paths, and every deletion a watcher saw, always go through. Default 0.5; 1 turns the share check off (a missing or emptied root still halts).',
  });

const idOrName = (what: string) =>
  z
    .union([z.int().min(0, { error: 'expected a non-negative id' }), z.string().min(1)])
    .meta({ description: what });

const permission = (what: string) =>
  z
    .union([
      z.string().regex(OCTAL_MODE_RE, {
        error: (iss) =>
          `expected an octal permission string such as "0644", got ${JSON.stringify(iss.input)}`,
      }),
      z
        .int()
        .min(0, { error: 'expected permission bits between 0 and 0777' })
        .max(0o777, {
          error: (iss) =>
            `${String(iss.input)} is not a permission mode: write it as an octal string such as "0644" ` +
            '(YAML reads 0644 as octal but 644 as decimal)',
        }),
    ])
    .meta({ description: what, examples: ['0644'] });

const globs = (what: string) =>
  z.array(z.string().min(1)).meta({ description: what, examples: [['./web/src/**/*.css']] });

/**
 * A strict object whose "unknown key" issue lists the keys it accepts (the issue mapper in
 * `problems.ts` turns it into one problem per unknown key).
 */
function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const keys = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `expected one of: ${keys}` : undefined),
  });
}

/** One sync rule: a local source streamed to (or from) a container target. */
export const syncRuleSchema = strict({
  source: z
    .string()
    .min(1, { error: 'expected a non-empty path' })
    .meta({
      description:
        'Local file, directory or glob, relative to the project directory (the directory of the first compose file).',
      examples: ['./web/src'],
    }),
  target: z
    .string()
    .min(1, { error: 'expected a non-empty container path' })
    .meta({
      description: "Container path: absolute, or relative to the image's WORKDIR.",
      examples: ['/app/src'],
    }),
  mode: z
    .enum(modeNames, {
      error: (iss) =>
        `unknown mode ${JSON.stringify(iss.input)}; expected one of: ${modeNames.join(', ')}`,
    })
    .optional()
    .meta({
      description: modesDescription(),
    }),
  exclude: patterns(
    'dockerignore patterns relative to the source; `!` re-includes. Merged with the service and top-level excludes.',
  ).optional(),
  include: patterns(
    'When set, only paths matching one of these patterns (relative to the source) are synced.',
  ).optional(),
  uploadExclude: patterns('Patterns excluded from upload (local -> container) only.').optional(),
  downloadExclude: patterns(
    'Patterns excluded from download (container -> local) only.',
  ).optional(),
  strip: z
    .string()
    .optional()
    .meta({
      description:
        'Glob sources: prefix (relative to the project directory) removed from each path before it is joined with the target.',
      examples: ['web/'],
    }),
  initialSync: z
    .enum(INITIAL_SYNCS, {
      error: (iss) =>
        `unknown initialSync strategy ${JSON.stringify(iss.input)}; expected one of: ${INITIAL_SYNCS.join(', ')}`,
    })
    .optional()
    .meta({
      description:
        'Initial sync strategy (DevSpace names), run at up, at watch start and whenever a container starts. ' +
        'Default: mirrorLocal for one-way-replica, preferLocal for one-way-safe and two-way modes, ' +
        'preferRemote / mirrorRemote for the reverse modes.',
    }),
  owner: idOrName(
    "Owner of synced files in the container: uid or user name. Default: the container's user.",
  ).optional(),
  group: idOrName(
    "Group of synced files in the container: gid or group name. Default: the container's group.",
  ).optional(),
  fileMode: permission(
    'Permission bits of synced files, e.g. "0644". Default: as on the local side.',
  ).optional(),
  dirMode: permission(
    'Permission bits of synced directories, e.g. "0755". Default: as on the local side.',
  ).optional(),
  symlinks: z
    .enum(['preserve', 'ignore'], {
      error: (iss) =>
        `unknown symlinks value ${JSON.stringify(iss.input)}; expected one of: preserve, ignore`,
    })
    .optional()
    .meta({
      description:
        'preserve (default): sync symbolic links as links, never followed out of the source. ignore: skip them.',
    }),
}).meta({
  id: 'SyncRule',
  title: 'sync rule',
  description: 'One sync rule: a local source and a container target.',
});

/** A list of sync rules (also the bare-list shorthand of a service's `x-sync`). */
export const syncListSchema = z
  .array(syncRuleSchema)
  .meta({ id: 'SyncList', description: 'Sync rules of the service.' });

const signal = z
  .union([z.string(), z.int()])
  .refine((v) => normalizeSignal(v) !== null, {
    error: (iss) =>
      `unknown signal ${JSON.stringify(iss.input)}; expected a Linux signal name or number such as SIGHUP, HUP, SIGUSR1 or 1`,
  })
  .meta({
    description:
      'Send this signal to PID 1 instead of restarting the container (SIGHUP, HUP, 1, ...).',
    examples: ['SIGHUP'],
  });

/** A restart trigger: a glob, or globs with an optional signal. */
export const restartEntrySchema = z
  .union([
    z.string().min(1).meta({
      description:
        'Glob relative to the project directory: restart the service after a sync that touched it.',
    }),
    strict({
      paths: globs('Globs relative to the project directory.'),
      signal: signal.optional(),
    }).meta({ description: 'Globs, and a signal to send instead of restarting.' }),
  ])
  .meta({ id: 'RestartTrigger' });

const envValue = z.union([z.string(), z.number(), z.boolean()]);

/** An exec trigger: a command run in every container of the service after a sync. */
export const execEntrySchema = strict({
  paths: globs('Globs relative to the project directory that trigger the command.'),
  command: z
    .union([
      z.array(z.string()).min(1, { error: 'expected a non-empty command' }),
      z.string().min(1, { error: 'expected a non-empty command' }),
    ])
    .meta({
      description:
        'Array: run without a shell. String: run with `sh -c`. COMPOSYNC_CHANGED_FILES holds the changed container paths ' +
        '(write $$COMPOSYNC_CHANGED_FILES in compose files).',
    }),
  on: z
    .enum(['container', 'host'])
    .optional()
    .meta({
      description:
        'Where the command runs: `container` (default: in every container of the service) or `host` (once, on ' +
        'your machine, in the project directory, after the batch is confirmed in the containers; ' +
        'COMPOSYNC_CHANGED_FILES then holds the local paths).',
    }),
  user: z
    .union([z.string().min(1), z.int().min(0)])
    .optional()
    .meta({ description: 'User to run the command as (in the container; not with `on: host`).' }),
  workdir: z.string().min(1).optional().meta({
    description:
      'Working directory of the command: in the container, or with `on: host` a local directory relative to the project directory.',
  }),
  env: z
    .union([z.record(z.string(), envValue), z.array(z.string())])
    .optional()
    .meta({ description: 'Extra environment variables: a mapping, or a list of KEY=VALUE.' }),
}).meta({
  id: 'ExecTrigger',
  description:
    'Run a command after a sync: in every container of the service, or with `on: host` on your machine.',
});

/** Fields shared by the top level and the service level. */
const defaultsShape = {
  exclude: patterns(
    'Patterns excluded from every sync rule (dockerignore syntax; a pattern without a slash matches at any depth).',
  ).optional(),
  debounce: ms(
    'Milliseconds of quiet before a batch is sent. After an idle period, an edit of files every container already holds (up to 16, setting off no trigger) goes out 1 ms after its first event; what follows waits for quiet.',
  ).optional(),
  maxWait: ms(
    'A batch is sent at the latest this many milliseconds after its first event.',
  ).optional(),
  deleteGuard: deleteGuard.optional(),
};

/** Service-level `x-sync` in its full (mapping) form. */
export const serviceXSyncObjectSchema = strict({
  sync: syncListSchema.optional(),
  rebuild: globs(
    'Globs relative to the project directory: rebuild the image and recreate the service when they change.',
  ).optional(),
  restart: z
    .array(restartEntrySchema)
    .optional()
    .meta({ description: 'Restart (or signal) triggers.' }),
  exec: z.array(execEntrySchema).optional().meta({ description: 'Commands run after a sync.' }),
  ...defaultsShape,
}).meta({ id: 'ServiceXSyncObject', description: 'Sync rules and triggers of the service.' });

/** Service-level `x-sync`: the mapping form, or a bare list (shorthand for `{ sync: [...] }`). */
export const serviceXSyncSchema = z.union([syncListSchema, serviceXSyncObjectSchema]).meta({
  id: 'ServiceXSync',
  title: 'service x-sync',
  description: 'composync: sync rules and triggers of this service, or a bare list of sync rules.',
});

/** Top-level `x-sync`: defaults for every service. */
export const topXSyncSchema = strict(defaultsShape).meta({
  id: 'TopXSync',
  title: 'top-level x-sync',
  description: 'composync: defaults for every service.',
});

export type SyncRuleInput = z.infer<typeof syncRuleSchema>;
export type ServiceXSyncObjectInput = z.infer<typeof serviceXSyncObjectSchema>;
export type TopXSyncInput = z.infer<typeof topXSyncSchema>;
export type ExecEntryInput = z.infer<typeof execEntrySchema>;
export type RestartEntryInput = z.infer<typeof restartEntrySchema>;

/**
 * The JSON Schema of `x-sync` for editors' YAML language servers: a compose-file overlay that
 * describes the top-level defaults and every service's `x-sync` (mapping or bare list), and
 * leaves everything else to the compose specification's own schema.
 */
export function xSyncJsonSchema(): object {
  const file = z
    .looseObject({
      'x-sync': topXSyncSchema.optional(),
      services: z
        .record(z.string(), z.looseObject({ 'x-sync': serviceXSyncSchema.optional() }))
        .optional(),
    })
    .meta({
      title: 'composync x-sync',
      description:
        'The x-sync extension of compose files (composync): file sync rules and rebuild/restart/exec triggers.',
    });
  return z.toJSONSchema(file, { target: 'draft-2020-12' });
}
