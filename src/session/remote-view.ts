/**
 * The container side of one rule in one container, as the planner needs it: a scan of the whole
 * target, the covered paths of a watch batch (stat-ed, or rebuilt from the state where that is
 * safe), content hashes and reads of entries. Reads only: writing is the plan applier's.
 */
import { posix } from 'node:path';
import { fromContainerRel, toContainerPath } from '../core/paths.js';
import type { SyncRule } from '../core/model.js';
import { MODE_SPECS } from '../core/modes.js';
import type { ContainerChannel, RemoteStat } from '../core/ports.js';
import type { Entry, StateEntry, StateTree, Tree } from '../core/tree.js';
import { hashChunks } from '../core/hash.js';
import type { RuleFilter } from './rule-sync.js';

/** A batch above this many paths reads the container side with one scan instead of stats. */
const STAT_LIMIT = 128;
/** The same where the image has a shell: the channel then stats many paths in one exec. */
const STAT_LIMIT_SHELL = 4096;

/** A prefetched stat older than this is not used (the batch did not come). */
const PREFETCH_FRESH_MS = 100;

export class RemoteView {
  /** Stats asked when an edit's first event came (see prefetch). */
  private prefetched:
    | {
        at: number;
        cps: Map<string, string>;
        stats: Promise<Map<string, RemoteStat | null> | null>;
      }
    | undefined;

  constructor(
    private readonly rule: SyncRule,
    private readonly channel: ContainerChannel,
    private readonly targetAbs: string,
    private readonly filter: RuleFilter,
    /** The rule's last-synced state (it changes as batches are applied). */
    private readonly state: () => StateTree,
  ) {}

  /**
   * Scan the container side of the rule, as rule-relative entries the rule covers. With
   * `early`, a listing started by {@link prefetchListing} when the rule was opened is used.
   */
  async scan(opts: { early?: boolean } = {}): Promise<Tree> {
    const out: Tree = new Map();
    if (this.rule.kind === 'file') {
      const st = (await this.channel.stat([this.targetAbs])).get(this.targetAbs);
      if (!st || st.kind === 'dir' || st.kind === 'other') return out;
      // a scan lists a directory: a file target is read itself (and hashed as it streams)
      const only = this.rule.only;
      if (!only) return out;
      const dir = posix.dirname(this.targetAbs);
      await this.channel.read(dir, [posix.basename(this.targetAbs)], async (_rel, e, content) => {
        if (e.kind === 'file' && content) {
          const { hash, size } = await hashChunks(content);
          out.set(only, { ...e, size, hash });
        } else if (e.kind === 'symlink') out.set(only, e);
      });
      return out;
    }
    // what the state recorded spares reading the files that did not change since; a state
    // entry is what the listing asks for (its container-side size and mtime), as it is
    const state = this.state();
    const direct = this.rule.kind === 'dir'; // container paths are the rule's paths
    const tree = await this.channel.scanKnown(
      this.targetAbs,
      (remoteRel) => {
        const rel = direct ? remoteRel : fromContainerRel(this.rule, remoteRel);
        return rel ? state.get(rel) : undefined;
      },
      direct ? { ...opts, beside: state } : opts,
    );
    if (!tree) return out;
    if (direct) {
      // the listing's own tree, filtered in place: no second map of every entry
      for (const [rel, e] of tree)
        if (rel === '' || this.filter.excludedBoth(rel, e.kind === 'dir')) tree.delete(rel);
      return tree;
    }
    for (const [remoteRel, e] of tree) {
      const rel = fromContainerRel(this.rule, remoteRel);
      if (rel === null || rel === '') continue;
      if (this.filter.excludedBoth(rel, e.kind === 'dir')) continue;
      out.set(rel, e);
    }
    return out;
  }

  /**
   * The container side of the covered paths. Replica mode trusts the state (it overwrites
   * whatever is there); the other modes look, so a container edit is never overwritten blindly:
   * a file whose size and mtime still match what was last written counts as unchanged, unless
   * the container-side watcher (`reported`), whose listing has sub-second mtimes, saw it change:
   * a rewrite of the same size within the same second then has its content read and compared.
   */
  async read(covered: Set<string>, local?: Tree, reported?: Set<string>): Promise<Tree> {
    const remote: Tree = new Map();
    const fromState = (b: StateEntry): Entry => ({
      kind: b.kind,
      hash: b.hash,
      link: b.link,
      size: b.rSize,
      mtimeMs: b.rMtime * 1000,
      mode: 0,
    });
    let toStat = covered;
    if (MODE_SPECS[this.rule.mode].remoteFromState) {
      // the state stands for the container, except for a path it does not know that is gone
      // locally: a write may have landed although its file vanished while it was sent, and
      // only a look tells whether a copy must be removed
      toStat = new Set();
      for (const p of covered) {
        const b = this.state().get(p);
        if (b) remote.set(p, fromState(b));
        else if (local && !local.has(p)) toStat.add(p);
      }
      if (toStat.size === 0) return remote;
    }
    const stats = await this.statCovered(toStat);
    if (!stats) {
      const all = await this.scan();
      for (const p of toStat) {
        const e = all.get(p);
        if (e) remote.set(p, e);
      }
      return remote;
    }
    const recheck = new Map<string, RemoteStat>();
    for (const [rel, st] of stats) {
      if (!st || st.kind === 'other') continue;
      const b = this.state().get(rel);
      const unchanged =
        b &&
        b.kind === st.kind &&
        (st.kind !== 'file' || (b.rSize === st.size && b.rMtime === st.mtime));
      if (unchanged) {
        remote.set(rel, fromState(b));
        if (st.kind === 'file' && reported?.has(rel)) recheck.set(rel, st);
      } else if (st.kind === 'dir') {
        remote.set(rel, { kind: 'dir', size: 0, mtimeMs: st.mtime * 1000, mode: st.mode });
      } else {
        // changed in the container: content unknown, so it equals neither side
        remote.set(rel, {
          kind: st.kind,
          hash: `container:${st.size}:${st.mtime}`,
          link: st.kind === 'symlink' ? `container:${st.mtime}` : undefined,
          size: st.size,
          mtimeMs: st.mtime * 1000,
          mode: st.mode,
        });
      }
    }
    if (recheck.size) {
      for (const [rel, hash] of await this.hashes([...recheck.keys()])) {
        const st = recheck.get(rel)!;
        if (hash !== remote.get(rel)?.hash)
          remote.set(rel, {
            kind: 'file',
            hash,
            size: st.size,
            mtimeMs: st.mtime * 1000,
            mode: st.mode,
          });
      }
    }
    return remote;
  }

  /** Start the listing of the whole target for the scan of the reconcile that follows. */
  prefetchListing(): void {
    if (this.rule.kind !== 'file') this.channel.prefetchListing?.(this.targetAbs);
  }

  /**
   * Ask the container about these paths now, for the batch that will carry them: an edit's first
   * event starts the check of the container file while the leading window and the local read
   * run, instead of after them. Used by the next {@link RemoteView.read} if it asks about
   * exactly these paths within PREFETCH_FRESH_MS; a mode that takes the state for the container
   * asks nothing.
   */
  prefetch(rels: string[]): void {
    if (MODE_SPECS[this.rule.mode].remoteFromState) return;
    const cps = new Map<string, string>();
    for (const rel of rels) {
      const cp = toContainerPath(this.rule, this.targetAbs, rel);
      if (cp) cps.set(rel, cp);
    }
    if (cps.size === 0) return;
    const stats = this.channel.stat([...cps.values()]).catch(() => null);
    this.prefetched = { at: performance.now(), cps, stats };
  }

  /** The prefetched stats of exactly `level`'s paths, if fresh; each prefetch is used once. */
  private async takePrefetched(level: string[]): Promise<Map<string, RemoteStat | null> | null> {
    const p = this.prefetched;
    this.prefetched = undefined;
    if (!p || performance.now() - p.at > PREFETCH_FRESH_MS) return null;
    if (level.length !== p.cps.size || !level.every((rel) => p.cps.has(rel))) return null;
    return p.stats;
  }

  /** Content hashes of container files (rule-relative paths); a path that cannot be read is left out. */
  async hashes(rels: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await this.readEntries(rels, async (rel, entry, content) => {
      if (entry.kind !== 'file' || !content) return;
      out.set(rel, (await hashChunks(content)).hash);
    });
    return out;
  }

  /**
   * Read container entries of the rule (rule-relative paths), one read per container
   * directory they lie in; `onEntry` gets each one found with its rule-relative path.
   */
  async readEntries(
    rels: string[],
    onEntry: (rel: string, entry: Entry, content: AsyncIterable<Buffer> | null) => Promise<void>,
  ): Promise<void> {
    const byDir = new Map<string, Map<string, string>>();
    for (const rel of rels) {
      const loc = this.readLocation(rel);
      if (!loc) continue;
      if (!byDir.has(loc.dir)) byDir.set(loc.dir, new Map());
      byDir.get(loc.dir)!.set(loc.sub, rel);
    }
    for (const [dir, subs] of byDir) {
      await this.channel.read(dir, [...subs.keys()], async (sub, entry, content) => {
        const rel = subs.get(sub);
        if (rel !== undefined) await onEntry(rel, entry, content);
      });
    }
  }

  /**
   * Container stats of the covered paths, asked from the top down: what lies below a path the
   * container lacks (a new directory) is absent too, without a request, so a burst of files in
   * new directories costs one request per new top directory. Null when more paths than the
   * limit would need a stat: one scan is cheaper then.
   */
  private async statCovered(covered: Set<string>): Promise<Map<string, RemoteStat | null> | null> {
    const cpOf = new Map<string, string>();
    for (const rel of covered) {
      const cp = toContainerPath(this.rule, this.targetAbs, rel);
      if (cp) cpOf.set(rel, cp);
    }
    const children = new Map<string, string[]>();
    let level: string[] = [];
    for (const [rel, cp] of cpOf) {
      const parent = posix.dirname(rel);
      const parentCp = cpOf.get(parent);
      // descend only where the container paths nest as the local ones do
      if (parentCp !== undefined && posix.dirname(cp) === parentCp) {
        if (!children.has(parent)) children.set(parent, []);
        children.get(parent)!.push(rel);
      } else level.push(rel);
    }
    const out = new Map<string, RemoteStat | null>();
    // With a shell, one exec answers any number of paths for about the price of one: below the
    // top directories that exist, everything is asked at once rather than level by level (a
    // burst into directories an earlier batch created cost an exec per level).
    const flat = this.channel.info.shell;
    const below = (rel: string): string[] =>
      (children.get(rel) ?? []).flatMap((c) => [c, ...below(c)]);
    let budget = flat ? STAT_LIMIT_SHELL : STAT_LIMIT;
    let descended = false;
    while (level.length) {
      if (level.length > budget) return null;
      budget -= level.length;
      const stats =
        (!descended && (await this.takePrefetched(level))) ||
        (await this.channel.stat(level.map((rel) => cpOf.get(rel)!)));
      const next: string[] = [];
      for (const rel of level) {
        const st = stats.get(cpOf.get(rel)!) ?? null;
        out.set(rel, st);
        if (st?.kind === 'dir' && !(flat && descended))
          next.push(...(flat ? below(rel) : (children.get(rel) ?? [])));
      }
      descended = true;
      level = next;
    }
    return out;
  }

  /** Container path → where it is read from: the rule's target directory and the path below it. */
  private readLocation(rel: string): { dir: string; sub: string } | null {
    const cp = toContainerPath(this.rule, this.targetAbs, rel);
    if (!cp) return null;
    if (this.rule.kind === 'file') return { dir: posix.dirname(cp), sub: posix.basename(cp) };
    const sub = posix.relative(this.targetAbs, cp);
    return sub && !sub.startsWith('..') ? { dir: this.targetAbs, sub } : null;
  }
}
