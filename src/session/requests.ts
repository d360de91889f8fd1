/**
 * Requests to a running watcher from another composync process of the project: today one kind,
 * resume (`composync sync --force` while a watcher runs). The watcher holds the rules' state in
 * memory, so a second process reconciling on its own would be overwritten by the watcher's next
 * save; it hands the request over instead. A request is a file in `.composync/requests/`
 * (written atomically); the watcher answers with `<id>.done.json` beside it.
 */
import { randomUUID } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { composyncDir, writeFileAtomic } from './files.js';

export interface ResumeRequest {
  id: string;
  kind: 'resume';
  /** Services to resume; empty: every service the watcher covers. */
  services: string[];
}

/** What the watcher did for one rule and container. */
export interface ResumeOutcome {
  rule: string;
  container: string;
  uploaded: number;
  deleted: number;
  downloaded: number;
  deletedLocal: number;
  conflicts: number;
  problems: { path: string; message: string }[];
  halted: boolean;
}

export interface ResumeAnswer {
  id: string;
  outcomes: ResumeOutcome[];
  /** Set when the watcher could not carry the request out. */
  error?: string;
}

const dirOf = (projectDir: string) => join(composyncDir(projectDir), 'requests');

/**
 * Serve requests until the returned function is called: each request file is read, removed,
 * handled one at a time, and answered. Requests written before the call are served too.
 */
export async function serveRequests(
  projectDir: string,
  handle: (req: ResumeRequest) => Promise<ResumeOutcome[]>,
): Promise<() => void> {
  const dir = dirOf(projectDir);
  await mkdir(dir, { recursive: true });
  let chain = Promise.resolve();
  let closed = false;
  const busy = new Set<string>();
  const scan = () => {
    chain = chain.then(async () => {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (closed || !name.endsWith('.request.json') || busy.has(name)) continue;
        busy.add(name);
        const path = join(dir, name);
        const text = await readFile(path, 'utf8').catch(() => null);
        await rm(path, { force: true });
        busy.delete(name);
        if (text === null) continue;
        let req: ResumeRequest;
        try {
          req = JSON.parse(text) as ResumeRequest;
        } catch {
          continue;
        }
        const answer: ResumeAnswer = { id: req.id, outcomes: [] };
        try {
          answer.outcomes = await handle(req);
        } catch (err) {
          answer.error = err instanceof Error ? err.message : String(err);
        }
        await writeFileAtomic(join(dir, `${req.id}.done.json`), JSON.stringify(answer));
      }
    });
  };
  let w: FSWatcher | null = null;
  try {
    w = watch(dir, scan);
    w.on('error', () => undefined);
  } catch {
    w = null;
  }
  // a watch can miss a file written before it started
  scan();
  const timer = w ? null : setInterval(scan, 500);
  return () => {
    closed = true;
    w?.close();
    if (timer) clearInterval(timer);
  };
}

/**
 * Ask the project's watcher to resume `services` and wait for its answer (at most `timeoutMs`).
 * Rejects when no answer came in time.
 */
export async function askResume(
  projectDir: string,
  services: string[],
  timeoutMs = 10 * 60_000,
): Promise<ResumeAnswer> {
  const dir = dirOf(projectDir);
  const id = randomUUID();
  const req: ResumeRequest = { id, kind: 'resume', services };
  await writeFileAtomic(join(dir, `${id}.request.json`), JSON.stringify(req));
  const done = join(dir, `${id}.done.json`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(done, 'utf8').catch(() => null);
    if (text !== null) {
      await rm(done, { force: true });
      return JSON.parse(text) as ResumeAnswer;
    }
    if (Date.now() > deadline) {
      await rm(join(dir, `${id}.request.json`), { force: true });
      throw new Error(`the watcher did not answer within ${Math.round(timeoutMs / 1000)} s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
