/**
 * Measures the two ways into a container (archive endpoint, exec tar stream) for small and
 * bulk batches, on a busybox and a GNU tar (Debian) image. The numbers pick the thresholds of
 * `via: 'auto'` (src/engine/channel.ts).
 *
 *   npx tsc -p . && node dist/bench/transport.js [--quick]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerChannel, WriteEntry } from '../src/core/ports.js';
import { createEngine } from '../src/engine/index.js';

const quick = process.argv.includes('--quick');
const project = `composync-bench-${process.pid}`;
const images = [
  { label: 'busybox', image: 'composync/busybox', cmd: ['sleep', '2147483647'] },
  { label: 'gnu', image: 'composync/debian', cmd: ['sleep', '2147483647'] },
];

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeIt(reps: number, setup: () => Promise<void>, run: () => Promise<unknown>) {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    await setup();
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function small(dir: string, n: number, tag: string): WriteEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    path: `${dir}/f${i}.txt`,
    kind: 'file' as const,
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    mtimeMs: Date.now(),
    content: Buffer.from(`${tag} ${i}\n`.repeat(20)),
  }));
}

async function main() {
  const engine = createEngine();
  await engine.ping();
  const local = await mkdtemp(join(tmpdir(), 'composync-bench-'));
  const many = quick ? 1000 : 5000;
  const bigMb = quick ? 50 : 200;
  const manyEntries: WriteEntry[] = [];
  await mkdir(join(local, 'many'));
  for (let i = 0; i < many; i++) {
    const source = join(local, 'many', `f${i}.txt`);
    await writeFile(source, randomBytes(512).toString('hex'));
    manyEntries.push({
      path: '',
      kind: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtimeMs: Date.now(),
      source,
    });
  }
  const big = join(local, 'big.bin');
  await writeFile(big, randomBytes(bigMb * 1024 * 1024));
  const sized = async (mb: number): Promise<WriteEntry[]> => {
    const source = join(local, `${mb}mb.bin`);
    await writeFile(source, randomBytes(mb * 1024 * 1024));
    const path = `/tmp/sized/${mb}mb.bin`;
    return [{ path, kind: 'file', mode: 0o644, uid: 0, gid: 0, mtimeMs: Date.now(), source }];
  };
  const oneMb = await sized(1);
  const sixteenMb = await sized(16);

  const rows: string[][] = [];
  const names: string[] = [];
  try {
    for (const img of images) {
      const name = `${project}-${img.label}`;
      names.push(name);
      docker(['rm', '-f', name]);
      docker([
        'run',
        '-d',
        '--name',
        name,
        '--label',
        `com.docker.compose.project=${project}`,
        '--label',
        `com.docker.compose.service=${img.label}`,
        '--label',
        'com.docker.compose.container-number=1',
        img.image,
        ...img.cmd,
      ]);
      const [ref] = await engine.listContainers(project, [img.label]);
      const ch: ContainerChannel = await engine.attach(ref!);
      const wipe = (dir: string) => async () => {
        await engine.exec(ref!.id, ['rm', '-rf', dir]);
      };
      const noop = async () => undefined;
      for (const via of ['archive', 'tar-stream'] as const) {
        await ch.write(small('/tmp/warm', 1, 'warm'), { via });
        let k = 0;
        const r1 = await timeIt(quick ? 20 : 100, noop, () =>
          ch.write(small(`/tmp/s1`, 1, `${k++}`), { via }),
        );
        const r10 = await timeIt(quick ? 10 : 50, noop, () =>
          ch.write(small(`/tmp/s10`, 10, `${k++}`), { via }),
        );
        const r100 = await timeIt(quick ? 5 : 20, noop, () =>
          ch.write(small(`/tmp/s100`, 100, `${k++}`), { via }),
        );
        const bulk = manyEntries.map((e, i) => ({ ...e, path: `/tmp/many/d${i % 50}/f${i}.txt` }));
        const rMany = await timeIt(3, wipe('/tmp/many'), async () => {
          const r = await ch.write(bulk, { via });
          if (r.problems.length) throw new Error(JSON.stringify(r.problems.slice(0, 3)));
        });
        const bigEntry: WriteEntry[] = [
          {
            path: '/tmp/big/big.bin',
            kind: 'file',
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtimeMs: Date.now(),
            source: big,
          },
        ];
        const rBig = await timeIt(3, wipe('/tmp/big'), () => ch.write(bigEntry, { via }));
        const r1m = await timeIt(quick ? 5 : 20, noop, () => ch.write(oneMb, { via }));
        const r16m = await timeIt(quick ? 3 : 10, noop, () => ch.write(sixteenMb, { via }));
        rows.push([
          img.label,
          via,
          ...[r1, r10, r100, r1m, r16m, rMany, rBig].map((x) => x.toFixed(1)),
        ]);
        console.error(rows[rows.length - 1]!.join('\t'));
      }
      await ch.close();
    }
  } finally {
    for (const n of names) docker(['rm', '-f', n]);
    await rm(local, { recursive: true, force: true });
  }
  console.log(
    `\nmedian ms per write() call (engine ${docker(['version', '--format', '{{.Server.Version}}'])})`,
  );
  console.log(
    [
      ...['image', 'via', '1 file', '10 files', '100 files', '1 MB file', '16 MB file'],
      ...[`${many} files`, `${bigMb} MB file`],
    ].join('\t'),
  );
  for (const r of rows) console.log(r.join('\t'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
