/**
 * User and group resolution the way the engine does it for `--user`: numeric ids pass through,
 * names are looked up in the container's own /etc/passwd and /etc/group (read through the
 * archive endpoint, so no tools are needed in the image).
 */
import { EngineError } from '../errors.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
}

export interface UserDb {
  passwd: PasswdEntry[];
  group: GroupEntry[];
}

/** Parse /etc/passwd (`name:x:uid:gid:...`); malformed lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || !f[0] || f[0].startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) out.push({ name: f[0], uid, gid });
  }
  return out;
}

/** Parse /etc/group (`name:x:gid:members`); malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || !f[0] || f[0].startsWith('#')) continue;
    const gid = Number(f[2]);
    if (Number.isInteger(gid)) out.push({ name: f[0], gid });
  }
  return out;
}

const numeric = (v: string | number): number | undefined => {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  return /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined;
};

/**
 * Resolve a user and an optional group to numeric ids. Without a group the user's primary
 * group from /etc/passwd is used (0 for a numeric uid without an entry, as the engine does).
 * Unknown names throw an EngineError naming the container.
 */
export function resolveIds(
  db: UserDb,
  user: string | number,
  group: string | number | undefined,
  container: string,
): { uid: number; gid: number } {
  let uid = numeric(user);
  let primaryGid = 0;
  if (uid === undefined) {
    const entry = db.passwd.find((p) => p.name === String(user).trim());
    if (!entry)
      throw new EngineError(`user "${user}" not found in /etc/passwd of container ${container}`, {
        hint: 'Use a numeric uid, or a user that exists in the image.',
      });
    uid = entry.uid;
    primaryGid = entry.gid;
  } else {
    primaryGid = db.passwd.find((p) => p.uid === uid)?.gid ?? 0;
  }
  if (group === undefined || group === '') return { uid, gid: primaryGid };
  let gid = numeric(group);
  if (gid === undefined) {
    const entry = db.group.find((g) => g.name === String(group).trim());
    if (!entry)
      throw new EngineError(`group "${group}" not found in /etc/group of container ${container}`, {
        hint: 'Use a numeric gid, or a group that exists in the image.',
      });
    gid = entry.gid;
  }
  return { uid, gid };
}

/** Split a container's `Config.User` (`""`, `name`, `name:group`, `uid:gid`). */
export function splitUserSpec(spec: string): { user: string; group?: string } {
  const i = spec.indexOf(':');
  if (i === -1) return { user: spec || '0' };
  return { user: spec.slice(0, i) || '0', group: spec.slice(i + 1) || undefined };
}

/** True when resolving this spec needs the container's /etc/passwd or /etc/group. */
export function needsUserDb(spec: string): boolean {
  if (!spec) return false;
  const { user, group } = splitUserSpec(spec);
  // A numeric uid without a group still needs passwd for the primary gid.
  return numeric(user) === undefined || group === undefined || numeric(group) === undefined;
}
