/**
 * One meaning for `x-sync` across several compose files, whatever the compose version: the
 * last file that sets a service's `x-sync` (or the top-level `x-sync`) replaces the earlier
 * files' value as a whole. compose up to 2.26 did that itself; compose 2.40 merges extension
 * fields like any other (mappings merged key by key, sequences appended), so an override that
 * moves a rule to a new target would keep the old rule too, and a base file's exec trigger
 * would survive an override that lists only sync rules.
 *
 * compose still resolves everything (interpolation, `.env`, profiles, `extends`); what
 * composync takes from each original file is only the shape of its last `x-sync`: which keys
 * it has and how long its sequences are. Interpolation changes scalars only, never that shape,
 * so the last file's contribution can be cut out of the merged value: for a mapping, its keys;
 * for a sequence, its last items (appended last by 2.40, the whole value on 2.26).
 */
import { parse } from 'yaml';

/** The raw (uninterpolated) YAML document of each compose file, null when unreadable. */
export type RawComposeFile = unknown;

/**
 * Apply the "last file replaces x-sync" rule to the parsed output of `docker compose config`,
 * in place. Only values two or more of `rawFiles` define are touched; a value that one file
 * (or `extends`, or `include`) defines is compose's own.
 * @param doc the parsed `docker compose config` output
 * @param rawFiles each compose file's parsed YAML, in merge order
 */
export function applyLastXSync(doc: unknown, rawFiles: readonly RawComposeFile[]): void {
  if (!isMap(doc) || rawFiles.length < 2) return;
  const top = lastDefined(rawFiles.map((f) => (isMap(f) ? f : undefined)));
  if (top && doc['x-sync'] !== undefined) doc['x-sync'] = cutOut(doc['x-sync'], top);
  const services = doc.services;
  if (!isMap(services)) return;
  for (const [name, svc] of Object.entries(services)) {
    if (!isMap(svc) || svc['x-sync'] === undefined) continue;
    const own = lastDefined(
      rawFiles.map((f) => {
        const s = isMap(f) && isMap(f.services) ? f.services[name] : undefined;
        return isMap(s) ? s : undefined;
      }),
    );
    if (own) svc['x-sync'] = cutOut(svc['x-sync'], own);
  }
}

/**
 * Parse a compose file for {@link applyLastXSync}: YAML merge keys followed, custom tags such
 * as compose's `!reset` and `!override` read as plain values; null when it cannot be read or
 * parsed (compose has already accepted or rejected it, so that file is then left out).
 */
export function parseRawComposeFile(text: string | null): RawComposeFile {
  if (text === null) return null;
  try {
    return parse(text, { merge: true, maxAliasCount: -1, logLevel: 'error' }) as unknown;
  } catch {
    return null;
  }
}

/** The `x-sync` of the last of `owners` that sets it, when at least two of them set it. */
function lastDefined(owners: readonly (Record<string, unknown> | undefined)[]): unknown {
  const setting = owners.filter((o) => o !== undefined && o['x-sync'] !== undefined);
  return setting.length >= 2 ? setting[setting.length - 1]!['x-sync'] : undefined;
}

/** The part of the merged value `merged` that came from the raw value `last`. */
function cutOut(merged: unknown, last: unknown): unknown {
  if (Array.isArray(merged) && Array.isArray(last))
    return last.length <= merged.length ? merged.slice(merged.length - last.length) : merged;
  if (isMap(merged) && isMap(last)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(last))
      if (key in merged) out[key] = cutOut(merged[key], last[key]);
    return out;
  }
  return merged;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
