/**
 * Applies a plan of one rule in one container: container deletions, uploads, local deletions,
 * downloads, in that order (a kind change removes the old entry before the new one is
 * written). Returns what happened path by path (core/transition's Outcome) and the counters of
 * the report; per-path failures are data. It does not touch the state.
 */
import { join } from 'node:path';
import { isInside, toContainerPath } from '../core/paths.js';
import type { SyncRule } from '../core/model.js';
import type { ContainerChannel, Problem, WriteEntry } from '../core/ports.js';
import type { Plan } from '../core/reconcile.js';
import type { Outcome } from '../core/transition.js';
import type { Tree } from '../core/tree.js';
import { removeLocal, writeLocal } from './local-writer.js';
import type { RemoteView } from './remote-view.js';

/** What applying a plan did. */
export interface Applied {
  outcome: Outcome;
  /** Container paths removed; entries (not directories) uploaded and their bytes. */
  deleted: number;
  uploaded: number;
  bytes: number;
  /** Bytes sent to the engine for the uploads (after gzip on remote engines). */
  wireBytes?: number;
  via?: string;
  /** Local entries written and bytes of file content; local paths removed. */
  downloaded: number;
  downloadedBytes: number;
  deletedLocal: number;
  /** Container paths written or deleted (for exec triggers). */
  changedPaths: string[];
  problems: Problem[];
  /**
   * The write died with the container or the engine: the outcome says what is known (the
   * deletions done, the uploads unsure); the caller records it, then rethrows.
   */
  error?: unknown;
}

/** Paths per write of an upload (see PlanApplier.upload). */
export const UPLOAD_SLICE = 8192;

export class PlanApplier {
  constructor(
    private readonly rule: SyncRule,
    private readonly channel: ContainerChannel,
    private readonly targetAbs: string,
    private readonly remoteView: RemoteView,
    /** The owner written entries get (resolved when the rule opened). */
    private readonly owner: () => { uid: number; gid: number },
  ) {}

  async apply(plan: Plan, local: Tree, remote: Tree): Promise<Applied> {
    const out: Applied = {
      outcome: { deletedRemote: [], uploaded: [], unsure: [], deletedLocal: [], downloaded: [] },
      deleted: 0,
      uploaded: 0,
      bytes: 0,
      downloaded: 0,
      downloadedBytes: 0,
      deletedLocal: 0,
      changedPaths: [],
      problems: [],
    };
    await this.deleteRemote(plan.deleteRemote, out);
    try {
      await this.upload(plan.upload, local, out);
    } catch (err) {
      out.outcome.aborted = true;
      out.error = err;
      return out;
    }
    try {
      for (const rel of plan.deleteLocal) {
        const problem = await removeLocal(this.rule.root, rel);
        if (problem) out.problems.push(problem);
        else {
          out.outcome.deletedLocal.push(rel);
          out.deletedLocal++;
        }
      }
      if (plan.download.length) await this.download(plan.download, remote, out);
    } catch (err) {
      // the container went away while downloading: what was written is recorded all the same
      out.error = err;
    }
    return out;
  }

  private async deleteRemote(rels: string[], out: Applied): Promise<void> {
    if (rels.length === 0) return;
    const targets: string[] = [];
    const relOf = new Map<string, string>();
    for (const rel of rels) {
      const cp = toContainerPath(this.rule, this.targetAbs, rel);
      if (cp && cp !== this.targetAbs && isInside(cp, this.targetAbs)) {
        targets.push(cp);
        relOf.set(cp, rel);
      }
    }
    const problems = await this.channel.remove(targets);
    const failed = new Set(problems.map((p) => p.path));
    for (const cp of targets) {
      if (failed.has(cp)) continue;
      out.outcome.deletedRemote.push(relOf.get(cp)!);
      out.deleted++;
      out.changedPaths.push(cp);
    }
    out.problems.push(...problems);
  }

  /**
   * Uploads in slices of {@link UPLOAD_SLICE} paths, parents first (the plan's order): each
   * slice's entries exist only while it is written. An initial copy of 100,000 files made all
   * of them (the entry, its container path, its source path, its tar name) before the first
   * byte went out, and held them to the end.
   */
  private async upload(rels: string[], local: Tree, out: Applied): Promise<void> {
    for (let i = 0; i < rels.length; i += UPLOAD_SLICE)
      await this.uploadSlice(rels.slice(i, i + UPLOAD_SLICE), local, out);
  }

  private async uploadSlice(rels: string[], local: Tree, out: Applied): Promise<void> {
    if (rels.length === 0) return;
    const entries: WriteEntry[] = [];
    const relOf = new Map<string, string>();
    const { uid, gid } = this.owner();
    for (const rel of rels) {
      const e = local.get(rel);
      const cp = toContainerPath(this.rule, this.targetAbs, rel);
      if (!e || !cp) continue;
      relOf.set(cp, rel);
      entries.push({
        path: cp,
        kind: e.kind,
        mode:
          e.kind === 'dir'
            ? (this.rule.dirMode ?? e.mode)
            : e.kind === 'file'
              ? (this.rule.fileMode ?? e.mode)
              : 0o777,
        uid,
        gid,
        mtimeMs: e.mtimeMs,
        source: e.kind === 'file' ? join(this.rule.root, rel) : undefined,
        link: e.link,
      });
    }
    // until the container confirms, an entry may or may not have landed: if the write dies
    // with the container, what it holds there is taken for this write, not for an edit
    const res = await this.channel.write(entries, { via: 'auto' }).catch((err: unknown) => {
      out.outcome.unsure.push(...relOf.values());
      throw err;
    });
    out.via = res.via;
    out.bytes += res.bytes;
    out.wireBytes = (out.wireBytes ?? 0) + (res.wireBytes ?? 0);
    const failed = new Set(res.problems.map((p) => p.path));
    for (const w of entries) {
      const rel = relOf.get(w.path)!;
      if (failed.has(w.path)) {
        out.outcome.unsure.push(rel);
        continue;
      }
      // what the container got: the file may have changed since it was hashed
      out.outcome.uploaded.push({ rel, got: res.stats.get(w.path) });
      if (w.kind !== 'dir') out.uploaded++;
      out.changedPaths.push(w.path);
    }
    out.problems.push(
      ...res.problems.map((p) => ({ path: relOf.get(p.path) ?? p.path, message: p.message })),
    );
  }

  private async download(rels: string[], remote: Tree, out: Applied): Promise<void> {
    const seen = new Set<string>();
    await this.remoteView.readEntries(rels, async (rel, entry, content) => {
      seen.add(rel);
      const mode = entry.kind === 'file' ? entry.mode : entry.kind === 'dir' ? entry.mode : 0o777;
      const res = await writeLocal(this.rule.root, rel, { ...entry, mode }, content);
      if ('message' in res) {
        out.problems.push(res);
        return;
      }
      out.outcome.downloaded.push({ rel, written: res.entry, from: entry });
      out.downloaded++;
      if (res.entry.kind === 'file') out.downloadedBytes += res.entry.size;
    });
    for (const rel of rels) {
      if (!seen.has(rel) && remote.has(rel))
        out.problems.push({
          path: rel,
          message: 'disappeared in the container before it could be read',
        });
    }
  }
}
