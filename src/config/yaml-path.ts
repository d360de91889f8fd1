/**
 * YAML paths as users read them (`services.web.x-sync.sync[0].mode`), and the mapping of zod
 * issues to problems at such paths with messages that say what was expected. Pure.
 */
import type { z } from 'zod';

export type PathSegment = string | number;

/** A problem before it is given its string path and compose file. */
export interface RawProblem {
  path: PathSegment[];
  message: string;
}

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * Render path segments: `services.web.x-sync.sync[0].mode`. Keys that are not plain words
 * (a dot in a service name, spaces in an env key) are quoted: `services["my.api"]`.
 */
export function formatYamlPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (PLAIN_KEY.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** The inverse of {@link formatYamlPath}. */
export function parseYamlPath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([A-Za-z0-9_-]+)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < path.length && (m = re.exec(path)) !== null) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(JSON.parse(m[2]) as string);
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}

/** The value at a path below `root`, or undefined. */
export function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let v: unknown = root;
  for (const s of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

/** A short description of a YAML value for messages: `"fast"`, `number 5`, `a list`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}

/**
 * Turn zod issues into problems. `prefix` is the YAML path of the validated value, `input` the
 * value itself (to quote what was found). Union failures are reported against the branch that
 * matched the value's type, or as "expected X or Y" when none did.
 */
export function issuesToProblems(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PathSegment[],
  input: unknown,
): RawProblem[] {
  const out: RawProblem[] = [];
  const walk = (list: readonly z.core.$ZodIssue[], base: PathSegment[]) => {
    for (const iss of list) {
      const path = [...base, ...(iss.path as PathSegment[])];
      const value = valueAt(input, path.slice(prefix.length));
      switch (iss.code) {
        case 'unrecognized_keys':
          for (const key of iss.keys) {
            const expected = iss.message.startsWith('expected') ? `; ${iss.message}` : '';
            out.push({ path: [...path, key], message: `unknown key "${key}"${expected}` });
          }
          break;
        case 'invalid_union': {
          const typed = iss.errors.filter(
            (branch) =>
              !(
                branch.length === 1 &&
                branch[0]!.code === 'invalid_type' &&
                branch[0]!.path.length === 0
              ),
          );
          if (typed.length > 0) {
            walk(typed[0]!, path);
          } else {
            const names = iss.errors.flatMap((branch) =>
              branch[0]?.code === 'invalid_type' ? [typeName(branch[0].expected)] : [],
            );
            const uniq = [...new Set(names)];
            const expected = `expected ${uniq.join(' or ')}`;
            out.push({
              path,
              message:
                value === undefined
                  ? `missing: ${expected}`
                  : `${expected}, got ${describeValue(value)}`,
            });
          }
          break;
        }
        case 'invalid_type':
          out.push({
            path,
            message:
              value === undefined
                ? `missing: expected ${typeName(iss.expected)}`
                : `expected ${typeName(iss.expected)}, got ${describeValue(value)}`,
          });
          break;
        case 'too_small':
          out.push({
            path,
            message: iss.message.startsWith('Too small')
              ? iss.origin === 'array'
                ? 'expected a non-empty list'
                : iss.origin === 'string'
                  ? 'expected a non-empty string'
                  : `expected at least ${String(iss.minimum)}`
              : iss.message,
          });
          break;
        default:
          out.push({ path, message: iss.message });
      }
    }
  };
  walk(issues, [...prefix]);
  return out;
}
