/**
 * The image's own tools, through exec, for one container: `rm -rf`, `stat`, `tar -c` (scans and
 * reads of tmpfs targets, which the archive endpoint cannot see) and the listing of a tree with
 * `find` and `stat`. Each needs the tool in the image; a missing one is a clear problem.
 */
import type { ContainerRef, RemoteStat } from '../core/ports.js';
import type { Entry, Tree } from '../core/tree.js';
import { EngineError } from '../errors.js';
import { treeFromArchive } from './archive-read.js';
import type { EngineCalls } from './calls.js';
import { execOutput } from './exec-io.js';
import { readWanted } from './remote-read.js';

/** Argument lists are chunked so a huge one never hits the kernel's argument limit. */
export const MAX_ARGV_BYTES = 64 * 1024;

/** The `stat -c` format both GNU and busybox stat understand; see {@link parseStatLine}. */
export const STAT_FORMAT = '%F|%s|%Y|%a|%n';

/** One line of `stat -c STAT_FORMAT`: the path and what it is; null for any other line. */
export function parseStatLine(line: string): { path: string; stat: RemoteStat } | null {
  const m = /^([a-z ]+)\|(\d+)\|(\d+)\|([0-7]+)\|(.*)$/.exec(line);
  if (!m) return null;
  const type = m[1]!;
  return {
    path: m[5]!,
    stat: {
      kind: type.includes('regular')
        ? 'file'
        : type === 'directory'
          ? 'dir'
          : type === 'symbolic link'
            ? 'symlink'
            : 'other',
      size: Number(m[2]),
      mtime: Number(m[3]),
      mode: parseInt(m[4]!, 8),
    },
  };
}

export class ExecTools {
  constructor(
    private readonly calls: EngineCalls,
    private readonly container: ContainerRef,
  ) {}

  /** Run argv as root to its end; its standard output goes to `consume`. */
  output<T>(
    what: string,
    argv: string[],
    consume: (out: NodeJS.ReadableStream) => Promise<T>,
  ): Promise<{ value: T; exitCode: number; stderr: string }> {
    return execOutput(this.calls, this.container, what, argv, consume);
  }

  /** `rm -rf -- paths` (one chunk of them): the exec's result. */
  rm(paths: string[]) {
    return this.calls.exec(this.container.id, this.container.name, ['rm', '-rf', '--', ...paths], {
      user: '0:0',
    });
  }

  /** scan() of a directory on a tmpfs: the container's own `tar -c`, hashed as it streams. */
  async scanTar(dir: string): Promise<Tree | null> {
    const st = (await this.stat([dir])).get(dir);
    if (!st || st.kind !== 'dir') return null;
    const r = await this.output(
      `scan ${dir} (tar -c)`,
      ['tar', '-c', '-f', '-', '-C', dir, '.'],
      (out) => treeFromArchive(out),
    );
    if (r.exitCode !== 0)
      throw new EngineError(`scan of ${dir} in ${this.container.name} failed: ${r.stderr.trim()}`);
    return r.value;
  }

  /** stat() of paths on a tmpfs, through the image's `stat`. */
  async stat(paths: string[]): Promise<Map<string, RemoteStat | null>> {
    const out = new Map<string, RemoteStat | null>(paths.map((p) => [p, null]));
    const items = paths.map((p) => ({ norm: p }));
    for (const chunk of chunkByBytes(items, MAX_ARGV_BYTES)) {
      const argv = ['stat', '-c', STAT_FORMAT, '--', ...chunk.map((c) => c.norm)];
      const r = await this.calls.exec(this.container.id, this.container.name, argv, {
        user: '0:0',
      });
      if (r.cannotStart)
        throw new EngineError(
          `the image of ${this.container.name} has no stat, needed for its tmpfs`,
        );
      for (const line of r.output.split('\n')) {
        const parsed = parseStatLine(line);
        if (parsed && out.has(parsed.path)) out.set(parsed.path, parsed.stat);
      }
    }
    return out;
  }

  /** read() below a directory on a tmpfs: one `tar -c` of the wanted paths. */
  async readTar(
    dir: string,
    rels: string[],
    onEntry: (rel: string, entry: Entry, content: AsyncIterable<Buffer> | null) => Promise<void>,
  ): Promise<void> {
    if (rels.length === 0) return;
    const argv = ['tar', '-c', '-f', '-', '-C', dir, '--', ...rels];
    await this.output(`read ${rels.length} paths below ${dir} (tar -c)`, argv, (out) =>
      readWanted(out, new Set(rels), onEntry),
    );
  }
}

/** Split items so each chunk's names fit in `max` bytes of argv. */
export function chunkByBytes<T extends { norm: string }>(items: T[], max: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const n = Buffer.byteLength(item.norm) + 1;
    if (current.length > 0 && size + n > max) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
