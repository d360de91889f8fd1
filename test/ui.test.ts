/**
 * The dashboard in a real browser: Debian's Chromium (installed by scripts/setup-engine.sh),
 * driven headless through playwright-core, against a real stack run by the real CLI
 * (`up --watch --ui`, then `composync ui` without a watcher). What the page shows, the live
 * event stream, the three ways to resolve a conflict and the files they leave on both sides,
 * verify, the token, and that the diff view reads nothing but a rule's conflicts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CliProcess, repoRoot, TestProject, waitFor } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

/** A fresh headless Chromium with its own profile; nothing is downloaded. */
async function launch(): Promise<{ ctx: BrowserContext; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'composync-ui-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return { ctx, dir };
}

const compose = `services:
  web:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./web
        target: /srv/app
        mode: one-way-safe
  api:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./api
        target: /srv/api
`;

/** Edit a file in the container, then locally: a one-way-safe rule reports a conflict. */
async function makeConflict(p: TestProject, rel: string): Promise<void> {
  await p.exec('web', ['sh', '-c', `printf 'line 1\\ncontainer\\n' > /srv/app/${rel}`]);
  await p.write(`web/${rel}`, 'line 1\nlocal\n');
}

const dashboardUrl = (out: string) =>
  /dashboard: (http:\/\/127\.0\.0\.1:\d+\/[^/\s]+\/)/.exec(out)?.[1];

describe('the dashboard, served by the watcher', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;
  let browser: { ctx: BrowserContext; dir: string };
  let page: Page;
  let url: string;
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run npm run setup`);
    p = await TestProject.create('ui', {
      'compose.yaml': compose,
      'web/index.html': '<h1>hello</h1>\n',
      'web/a.txt': 'line 1\nbase\n',
      'web/b.txt': 'line 1\nbase\n',
      'web/c.txt': 'line 1\nbase\n',
      'api/main.js': 'console.log(1)\n',
    });
    w = p.spawn(['up', '--watch', '--ui', '--no-logs']);
    await w.waitForOutput(/dashboard: http/, 180_000);
    url = dashboardUrl(w.output)!;
    assert.ok(url, w.output);
    browser = await launch();
    page = await browser.ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
  });

  after(async () => {
    await browser?.ctx.close().catch(() => undefined);
    if (browser) await rm(browser.dir, { recursive: true, force: true });
    await w?.stop();
    await p?.cleanup();
  });

  test('`composync ui` prints the running watcher’s address; ui.json is private', async () => {
    const r = await p.composync(['ui']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), url);
    const { statSync } = await import('node:fs');
    assert.equal(statSync(p.path('.composync/ui.json')).mode & 0o077, 0);
  });

  test('the page shows every service, its containers and its rules', async () => {
    await page.locator('[data-service="web"] [data-container]').first().waitFor();
    const web = page.locator('article.service[data-service="web"]');
    const api = page.locator('article.service[data-service="api"]');
    assert.match(
      await web.locator('[data-container]').innerText(),
      new RegExp(`${p.name}-web-1: running`),
    );
    assert.match(
      await api.locator('[data-container]').innerText(),
      new RegExp(`${p.name}-api-1: running`),
    );
    const row = await web.locator('tr[data-rule="web/0"]').innerText();
    assert.match(row, /one-way-safe/);
    assert.match(row, /local → container/);
    assert.match(row, /watching/);
    assert.match(row, /\.\/web → \/srv\/app/);
    // readable in light and dark mode: the page follows the system's colour scheme
    const bg = () => page.evaluate('getComputedStyle(document.body).backgroundColor');
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await bg(), 'rgb(22, 24, 26)');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await bg(), 'rgb(251, 251, 250)');
    // no edit yet: the latency chart waits for one (initial syncs are not edits)
    assert.match(row, /no edits yet/);
    assert.deepEqual(pageErrors, []);
  });

  test('an edit appears in the event stream at once, and the filters narrow it', async (t) => {
    const syncs = page.locator('#event-list li.event[data-kind="sync"][data-service="web"]');
    const before = await syncs.count();
    const t0 = Date.now();
    await p.write('web/new.txt', 'new\n');
    await waitFor(async () => (await syncs.count()) > before, {
      timeoutMs: 30_000,
      what: 'a new sync event',
    });
    t.diagnostic(`edit to its event on the page: ${Date.now() - t0} ms`);
    assert.match(await syncs.first().innerText(), /1 files uploaded/);
    assert.equal(await p.readRemote('web', '/srv/app/new.txt'), 'new\n');
    // the rule's latency chart has a bar per edit
    for (let i = 2; i <= 5; i++) {
      const n = await syncs.count();
      await p.write('web/new.txt', `new ${i}\n`.repeat(i * 200));
      await waitFor(async () => (await syncs.count()) > n, {
        timeoutMs: 30_000,
        what: `edit ${i}`,
      });
    }
    await waitFor(
      // a write seen half-done is one batch more: at least one bar per edit
      async () => (await page.locator('tr[data-rule="web/0"] svg.spark rect').count()) >= 5,
      { what: 'five bars in the chart' },
    );
    await page.selectOption('#filter-service', 'api');
    assert.equal(await page.locator('#event-list li.event[data-service="web"]').count(), 0);
    assert.ok((await page.locator('#event-list li.event[data-service="api"]').count()) > 0);
    await page.selectOption('#filter-service', '');
    await page.selectOption('#filter-kind', 'conflict');
    assert.equal(await page.locator('#event-list li.event[data-kind="sync"]').count(), 0);
    await page.selectOption('#filter-kind', '');
  });

  test('a request without the token, or a POST without its header, is refused with 403', async () => {
    const origin = new URL(url).origin;
    const token = new URL(url).pathname.split('/')[1]!;
    // the token with its last character changed
    const wrong = token.slice(0, -1) + (token.endsWith('x') ? 'y' : 'x');
    assert.equal((await fetch(`${origin}/`)).status, 403);
    assert.equal((await fetch(`${origin}/api/state`)).status, 403);
    assert.equal((await fetch(`${origin}/${wrong}/api/state`)).status, 403);
    assert.equal((await fetch(`${origin}/${wrong}/`)).status, 403);
    assert.equal((await fetch(`${url}api/state`)).status, 200);
    const body = JSON.stringify({
      rule: 'web/0',
      container: `${p.name}-web-1`,
      path: 'a.txt',
      keep: 'local',
    });
    const json = { 'Content-Type': 'application/json' };
    // the token in the URL is not enough to change anything: the header is needed too
    assert.equal(
      (await fetch(`${url}api/resolve`, { method: 'POST', headers: json, body })).status,
      403,
    );
    const badHeader = { ...json, 'X-Composync-Token': wrong };
    assert.equal(
      (await fetch(`${url}api/verify`, { method: 'POST', headers: badHeader, body: '{}' })).status,
      403,
    );
    // another site's page in the same browser: its origin is refused, and it cannot read
    const other = { ...json, 'X-Composync-Token': token, Origin: 'http://evil.example' };
    assert.equal(
      (await fetch(`${url}api/verify`, { method: 'POST', headers: other, body: '{}' })).status,
      403,
    );
    // a name that resolves to 127.0.0.1 (DNS rebinding) sends its own Host
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${url}api/state`);
      const req = request(
        {
          host: '127.0.0.1',
          port: u.port,
          path: u.pathname,
          headers: { Host: `evil.example:${u.port}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 403);
    // from the page itself (same origin) a cross-origin-like POST without the header fails too
    const fromPage = await page.evaluate(
      async () => (await fetch('api/verify', { method: 'POST', body: '{}' })).status,
    );
    assert.equal(fromPage, 403);
  });

  test('a conflict appears with both versions side by side, and each resolve button leaves the expected files on both sides', async () => {
    for (const f of ['a.txt', 'b.txt', 'c.txt']) await makeConflict(p, f);
    for (const f of ['a.txt', 'b.txt', 'c.txt'])
      await page.locator(`.conflict[data-path="${f}"]`).waitFor({ timeout: 60_000 });

    // both versions, side by side, with the changed lines marked
    await page.locator('.conflict[data-path="a.txt"] button', { hasText: 'Show versions' }).click();
    const grid = page.locator('#diff .diff-grid');
    await grid.waitFor({ timeout: 30_000 });
    assert.equal(await grid.locator('.cell.del').innerText(), 'local');
    assert.equal(await grid.locator('.cell.add').innerText(), 'container');
    assert.match(
      await page.locator('#diff [data-side="local"]').innerText(),
      /13 B, sha1 [0-9a-f]{40}/,
    );
    assert.match(
      await page.locator('#diff [data-side="container"]').innerText(),
      /17 B, sha1 [0-9a-f]{40}/,
    );
    // COMPOSYNC_UI_SCREENSHOT=1 refreshes the README's picture (and a dark one to look at)
    if (process.env.COMPOSYNC_UI_SCREENSHOT) {
      await page.screenshot({ path: join(repoRoot, 'docs', 'ui.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: join(tmpdir(), 'composync-ui-dark.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'light' });
    }

    // keep local: the container gets the local version
    await page.locator('.conflict[data-path="a.txt"] button[data-keep="local"]').click();
    await page
      .locator('.conflict[data-path="a.txt"]')
      .waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(await readFile(p.path('web/a.txt'), 'utf8'), 'line 1\nlocal\n');
    assert.equal(await p.readRemote('web', '/srv/app/a.txt'), 'line 1\nlocal\n');

    // keep container, from the keyboard: the local file gets the container's version
    await page.locator('.conflict[data-path="b.txt"] button[data-keep="container"]').focus();
    await page.keyboard.press('Enter');
    await page
      .locator('.conflict[data-path="b.txt"]')
      .waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(await readFile(p.path('web/b.txt'), 'utf8'), 'line 1\ncontainer\n');
    assert.equal(await p.readRemote('web', '/srv/app/b.txt'), 'line 1\ncontainer\n');

    // keep both: the local version at the path on both sides, the container's beside it
    await page.locator('.conflict[data-path="c.txt"] button[data-keep="both"]').click();
    await page
      .locator('.conflict[data-path="c.txt"]')
      .waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(await readFile(p.path('web/c.txt'), 'utf8'), 'line 1\nlocal\n');
    assert.equal(await p.readRemote('web', '/srv/app/c.txt'), 'line 1\nlocal\n');
    assert.equal(
      await readFile(p.path('web/c.txt.container-CONFLICT'), 'utf8'),
      'line 1\ncontainer\n',
    );
    assert.equal(
      await p.readRemote('web', '/srv/app/c.txt.container-CONFLICT'),
      'line 1\ncontainer\n',
    );

    // each choice is in the sync log and in the page's event stream
    const log = await readFile(p.path('.composync/logs/sync.log'), 'utf8');
    assert.match(log, /conflict resolved: a\.txt: kept the local version/);
    assert.match(log, /conflict resolved: b\.txt: kept the container version/);
    assert.match(
      log,
      /conflict resolved: c\.txt: kept both: the local version, and the container's as c\.txt\.container-CONFLICT/,
    );
    await waitFor(
      async () =>
        (await page.locator('#event-list li.event', { hasText: 'conflict resolved' }).count()) ===
        3,
      {
        what: 'three resolutions in the event stream',
      },
    );
    // nothing is left in conflict, and the watcher's next batches agree: nothing more moves
    const status = JSON.parse((await p.composync(['status', '--json'])).stdout) as {
      rules: { rule: string; conflicts: unknown[] }[];
    };
    assert.deepEqual(status.rules.find((r) => r.rule === 'web/0')?.conflicts, []);
    assert.deepEqual(pageErrors, []);
  });

  test('the diff view reads only the rule’s conflicts: no path outside its source or target', async () => {
    await makeConflict(p, 'd.txt');
    await page.locator('.conflict[data-path="d.txt"]').waitFor({ timeout: 60_000 });
    const container = `${p.name}-web-1`;
    const diff = (path: string, rule = 'web/0') =>
      fetch(`${url}api/diff?${new URLSearchParams({ rule, container, path })}`).then(async (r) => ({
        status: r.status,
        text: await r.text(),
      }));
    const ok = await diff('d.txt');
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /container/);
    for (const bad of [
      '../../etc/passwd',
      '/etc/passwd',
      'd.txt/../../../etc/passwd',
      './d.txt',
      '..',
      'a\0b',
    ]) {
      const r = await diff(bad);
      assert.equal(r.status, 400, `${bad}: ${r.text}`);
      assert.doesNotMatch(r.text, /root:/);
    }
    // a conflict below a directory the container then replaced by a link to /etc: the
    // container's side is not read through the link
    await p.exec('web', ['sh', '-c', 'echo SECRET > /etc/canary.txt']);
    await p.write('web/sub/canary.txt', 'line 1\nbase\n');
    await waitFor(
      async () => (await p.readRemote('web', '/srv/app/sub/canary.txt')) === 'line 1\nbase\n',
      { timeoutMs: 30_000, what: 'sub/canary.txt in the container' },
    );
    await makeConflict(p, 'sub/canary.txt');
    await page.locator('.conflict[data-path="sub/canary.txt"]').waitFor({ timeout: 60_000 });
    await p.exec('web', ['sh', '-c', 'rm -rf /srv/app/sub && ln -s /etc /srv/app/sub']);
    const linked = await diff('sub/canary.txt');
    assert.equal(linked.status, 200, linked.text);
    assert.doesNotMatch(linked.text, /SECRET/);
    assert.match(linked.text, /sub is not a directory in the container/);
    // nor resolved through the link: neither /etc in the container nor the local file changes
    const token = new URL(url).pathname.split('/')[1]!;
    for (const keep of ['local', 'container', 'both']) {
      const res = await fetch(`${url}api/resolve`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Composync-Token': token },
        body: JSON.stringify({ rule: 'web/0', container, path: 'sub/canary.txt', keep }),
      });
      const out = (await res.json()) as { ok: boolean; problems: { message: string }[] };
      assert.equal(out.ok, false, JSON.stringify(out));
      assert.match(out.problems[0]!.message, /sub is not a directory in the container/);
    }
    assert.equal(await p.exec('web', ['cat', '/etc/canary.txt']), 'SECRET\n');
    assert.equal(await readFile(p.path('web/sub/canary.txt'), 'utf8'), 'line 1\nlocal\n');
    assert.equal(existsSync(p.path('web/sub/canary.txt.container-CONFLICT')), false);
    // a file of the rule that is not in conflict is not shown either
    const other = await diff('index.html');
    assert.equal(other.status, 404);
    assert.doesNotMatch(other.text, /hello/);
    // a conflict path under another rule's name does not reach it
    assert.equal((await diff('d.txt', 'api/0')).status, 404);
  });

  test('the verify button runs the verify comparison and lists drift', async () => {
    await p.exec('web', ['sh', '-c', 'echo drift > /srv/app/index.html']);
    await page.locator('#verify').click();
    const results = page.locator('#verify-results [data-rule="web/0"]');
    await results.waitFor({ timeout: 60_000 });
    const text = await results.innerText();
    assert.match(text, /drift/);
    assert.match(text, /different: index\.html/);
    assert.match(text, /different: d\.txt/);
    assert.match(await page.locator('#verify-results [data-rule="api/0"]').innerText(), /in sync/);
    // the same answer as the command
    const r = await p.composync(['verify', '--json']);
    assert.equal(r.code, 1);
    const cli = JSON.parse(r.stdout) as {
      results: { rule: string; different: { path: string }[] }[];
    };
    const different = cli.results.find((x) => x.rule === 'web/0')!.different.map((d) => d.path);
    assert.ok(different.includes('index.html') && different.includes('d.txt'), r.stdout);
    for (const path of different)
      assert.ok(text.includes(`different: ${path}`), `${path}: ${text}`);
    assert.equal(text.match(/different: /g)?.length, different.length, text);
  });
});

describe('`composync ui` without a watcher', { timeout: 600_000 }, () => {
  let p: TestProject;
  let ui: CliProcess | undefined;
  let browser: { ctx: BrowserContext; dir: string } | undefined;

  before(async () => {
    p = await TestProject.create('uisa', {
      'compose.yaml': compose,
      'web/a.txt': 'line 1\nbase\n',
      'api/main.js': 'console.log(1)\n',
    });
    const up = await p.composync(['up'], { timeoutMs: 180_000 });
    assert.equal(up.code, 0, up.stdout + up.stderr);
  });

  after(async () => {
    await browser?.ctx.close().catch(() => undefined);
    if (browser) await rm(browser.dir, { recursive: true, force: true });
    await ui?.stop();
    await p?.cleanup();
  });

  test('serves the page from its own session: a conflict found by `sync` is resolved through it, and a halt shows with its resume button', async () => {
    await makeConflict(p, 'a.txt');
    const s = await p.composync(['sync']);
    assert.equal(s.code, 1, s.stdout + s.stderr);
    // a halted rule, as a watcher records it in the status file (the safety issue's shape)
    const statusPath = p.path('.composync/status.json');
    const status = JSON.parse(await readFile(statusPath, 'utf8')) as {
      rules: { rule: string; state: string; halted?: unknown }[];
    };
    const api = status.rules.find((r) => r.rule === 'api/0');
    assert.ok(api, JSON.stringify(status));
    api.state = 'halted';
    api.halted = {
      side: 'local',
      reason: 'the local source vanished',
      command: 'composync sync --force api',
    };
    await writeFile(statusPath, JSON.stringify(status));

    ui = p.spawn(['ui']);
    await ui.waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/\S+\//, 60_000);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/\S+\/)/.exec(ui.stdout)![1]!;
    browser = await launch();
    const page = await browser.ctx.newPage();
    await page.goto(url);
    await page.locator('.conflict[data-path="a.txt"]').waitFor({ timeout: 30_000 });
    assert.match(await page.locator('#live').innerText(), /no watcher/);

    const halt = page.locator('.halt[data-service="api"]');
    await halt.waitFor();
    assert.match(await halt.innerText(), /the local source vanished/);
    assert.match(await halt.innerText(), /composync sync --force api/);
    await halt.locator('button', { hasText: 'Resume' }).click();
    await halt.waitFor({ state: 'detached', timeout: 30_000 });

    await page.locator('.conflict[data-path="a.txt"] button[data-keep="local"]').click();
    await page
      .locator('.conflict[data-path="a.txt"]')
      .waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(await p.readRemote('web', '/srv/app/a.txt'), 'line 1\nlocal\n');
    assert.equal(await readFile(p.path('web/a.txt'), 'utf8'), 'line 1\nlocal\n');
    // the state agrees: the next sync has nothing to do and no conflict
    assert.equal((await p.composync(['sync'])).code, 0);
    assert.equal(await ui.stop(), 0);
    assert.equal(existsSync(p.path('.composync/ui.json')), false);
  });

  test('--port serves on that port, a taken port is a clear error, and --ui needs --watch', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const busy = await p.composync(['ui', '--port', String(taken)]);
      assert.equal(busy.code, 2, busy.stdout + busy.stderr);
      assert.match(busy.stderr, new RegExp(`127\\.0\\.0\\.1:${taken}: the port is in use`));
      assert.match(busy.stderr, /Choose another port/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    // the port just freed
    ui = p.spawn(['ui', '--port', String(taken)]);
    await ui.waitForOutput(new RegExp(`http://127\\.0\\.0\\.1:${taken}/\\S+/`), 60_000);
    assert.equal(await ui.stop(), 0);
    ui = undefined;
    const bad = await p.composync(['ui', '--port', '70000']);
    assert.equal(bad.code, 2, bad.stderr);
    const noWatch = await p.composync(['up', '--ui']);
    assert.equal(noWatch.code, 2, noWatch.stderr);
    assert.match(noWatch.stderr, /--ui needs --watch/);
  });

  test('beside a watcher started without --ui it shows the watcher live but changes nothing', async () => {
    const w = p.spawn(['watch', '--no-logs']);
    try {
      await w.waitForOutput(/watching \d+ rules/, 120_000);
      await makeConflict(p, 'a.txt');
      ui = p.spawn(['ui']);
      await ui.waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/\S+\//, 60_000);
      const url = /(http:\/\/127\.0\.0\.1:\d+\/\S+\/)/.exec(ui.stdout)![1]!;
      const token = new URL(url).pathname.split('/')[1]!;
      const state = async () =>
        (await (await fetch(`${url}api/state`)).json()) as {
          live: boolean;
          actions: { enabled: boolean; reason?: string };
          services: { name: string; rules: { conflicts: { path: string }[] }[] }[];
        };
      const st = (await waitFor(
        async () => {
          const s = await state();
          const web = s.services.find((x) => x.name === 'web');
          return web?.rules[0]?.conflicts.some((c) => c.path === 'a.txt') ? s : null;
        },
        { timeoutMs: 60_000, what: "the watcher's conflict in the state" },
      ))!;
      assert.equal(st.live, true);
      assert.equal(st.actions.enabled, false);
      assert.match(st.actions.reason ?? '', /watch --ui/);
      const res = await fetch(`${url}api/resolve`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Composync-Token': token },
        body: JSON.stringify({
          rule: 'web/0',
          container: `${p.name}-web-1`,
          path: 'a.txt',
          keep: 'local',
        }),
      });
      assert.equal(res.status, 409);
      assert.equal(await p.readRemote('web', '/srv/app/a.txt'), 'line 1\ncontainer\n');
    } finally {
      await ui?.stop();
      await w.stop();
    }
  });
});
