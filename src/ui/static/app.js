/* global document, location, fetch, EventSource, Node, URLSearchParams */
// The composync dashboard: one module, no framework. Live data arrives as server-sent events
// (`state`: the whole status, `log`: sync-log records); actions are POSTs carrying the token
// (the first path segment of this page's address) in the X-Composync-Token header. Every text
// from the server goes into the page as text (textContent), never as markup.

const token = location.pathname.split('/')[1] ?? '';
const api = (p) => `/${token}/api/${p}`;

/** The newest sync-log records (the server sends its backlog on connect, then each new one). */
const MAX_EVENTS = 2000;
const SHOWN_EVENTS = 300;
let events = [];
let state = null;
/** The conflict whose diff is open: `${rule}@${container}:${path}`, and its loaded versions. */
let openConflict = null;
let openVersions = null;

const $ = (id) => document.getElementById(id);

/** Create an element: `h('td', { class: 'num' }, 'text', child, ...)`. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** Replace a container's content, keeping keyboard focus on the element of the same id. */
function replace(container, ...nodes) {
  const focused = document.activeElement?.id;
  container.replaceChildren(...nodes.flat());
  if (focused && document.activeElement?.id !== focused) $(focused)?.focus();
}

const keyOf = (...parts) => parts.join('\u0001');
/** A stable id for elements (focus survives a re-render). */
const idOf = (prefix, ...parts) =>
  `${prefix}-${Array.from(keyOf(...parts))
    .map((c) => (/[A-Za-z0-9_-]/.test(c) ? c : `_${c.codePointAt(0).toString(16)}`))
    .join('')}`;

function bytes(n) {
  if (!n) return '0 B';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  const i = Math.min(u.length - 1, Math.floor(Math.log10(n) / 3));
  const v = n / 10 ** (3 * i);
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${u[i]}`;
}

function age(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

const DIRECTION = { up: 'local → container', down: 'container → local', both: 'both ways' };

function notice(text, bad = false) {
  const n = $('notice');
  n.textContent = text;
  n.className = bad ? 'state-error' : '';
}

async function post(path, body) {
  const res = await fetch(api(path), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Composync-Token': token },
    body: JSON.stringify(body),
  });
  const out = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(out.error ?? `HTTP ${res.status}`);
  return out;
}

/** Run an action from a button: disabled while it runs, the outcome in the notice line. */
async function act(button, label, fn) {
  button.disabled = true;
  notice(`${label}…`);
  try {
    notice(await fn());
  } catch (err) {
    notice(`${label} failed: ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
}

// --- services and rules ----------------------------------------------------------------------

/**
 * Bars of a rule's last watch-batch syncs (ms: from reading the edit to the container's
 * confirmation, as the sync log has them); initial syncs, which move whole trees, are left out.
 */
function latencyChart(rule) {
  const ms = events
    .filter(
      (e) =>
        e.rule === rule &&
        e.event === 'sync' &&
        typeof e.ms === 'number' &&
        !e.message.startsWith('initial sync'),
    )
    .slice(-30)
    .map((e) => e.ms);
  if (ms.length === 0) return h('span', { class: 'muted' }, 'no edits yet');
  const max = Math.max(...ms, 1);
  const w = 4;
  const height = 24;
  const chart = svg('svg', {
    class: 'spark',
    width: ms.length * (w + 1),
    height,
    role: 'img',
    'aria-label': `last ${ms.length} syncs: ${ms.join(', ')} ms`,
  });
  ms.forEach((v, i) => {
    const bh = Math.max(1, Math.round((v / max) * height));
    const r = svg('rect', { x: i * (w + 1), y: height - bh, width: w, height: bh });
    r.append(svg('title', {}, document.createTextNode(`${v} ms`)));
    chart.append(r);
  });
  const last = ms[ms.length - 1];
  return h('span', {}, chart, ' ', h('span', { class: 'mono' }, `${last} ms`));
}

function renderServices() {
  const cards = state.services.map((s) =>
    h(
      'article',
      { class: 'card service', 'data-service': s.name },
      h('h3', {}, s.name),
      h(
        'ul',
        { class: 'containers', 'aria-label': `containers of ${s.name}` },
        s.containers.length
          ? s.containers.map((c) =>
              h(
                'li',
                { class: `badge state-${c.state}`, 'data-container': c.name },
                `${c.name}: ${c.state}`,
              ),
            )
          : h('li', { class: 'muted' }, 'no container'),
      ),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            [
              'Rule',
              'Mode',
              'Direction',
              'State',
              'Files',
              'Bytes',
              'Last sync',
              'Recent edits',
            ].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          s.rules.map((r) => {
            const st = r.halted?.length ? 'halted' : r.state;
            return h(
              'tr',
              { 'data-rule': r.rule },
              h(
                'td',
                {},
                h('span', { class: 'mono' }, r.rule),
                h('br'),
                h('span', { class: 'muted mono' }, `${r.source} → ${r.target}`),
              ),
              h('td', {}, r.mode),
              h('td', {}, DIRECTION[r.direction] ?? r.direction),
              h(
                'td',
                {},
                h('span', { class: `badge state-${st.replace(/ /g, '-')}` }, st),
                r.conflicts.length
                  ? h('span', { class: 'badge conflicts' }, `${r.conflicts.length} in conflict`)
                  : null,
              ),
              h('td', { class: 'num' }, r.files),
              h('td', { class: 'num' }, bytes(r.bytes)),
              h('td', { title: r.lastSync ?? '' }, age(r.lastSync)),
              h('td', {}, latencyChart(r.rule)),
            );
          }),
        ),
      ),
    ),
  );
  replace(
    $('services'),
    cards.length ? cards : h('p', { class: 'muted' }, 'No service has sync rules.'),
  );
}

// --- problems and halts -----------------------------------------------------------------------

function renderProblems() {
  const enabled = state.actions.enabled;
  const items = [];
  for (const s of state.services) {
    for (const r of s.rules) {
      for (const hlt of r.halted ?? []) {
        const id = idOf('resume', r.rule, hlt.container);
        items.push(
          h(
            'div',
            { class: 'card halt', 'data-service': s.name },
            h('strong', {}, `${r.rule} halted in ${hlt.container}`),
            hlt.side ? ` (${hlt.side} side)` : '',
            h('p', {}, hlt.reason),
            h(
              'div',
              { class: 'actions' },
              h(
                'button',
                {
                  type: 'button',
                  id,
                  disabled: !enabled,
                  onclick: (e) =>
                    act(e.currentTarget, `resuming ${s.name}`, async () => {
                      const out = await post('sync', { service: s.name, force: true });
                      return out.ok
                        ? `${s.name} resumed (forced sync)`
                        : `${s.name}: ${out.problems.length} problems remain`;
                    }),
                },
                'Resume (forced sync)',
              ),
              h('span', { class: 'muted' }, 'or run '),
              h('code', {}, hlt.command),
            ),
          ),
        );
      }
      for (const p of r.problems) {
        items.push(
          h(
            'div',
            { class: 'card problem', 'data-service': s.name },
            h('strong', {}, `${r.rule} in ${p.container}: `),
            h('span', { class: 'mono' }, p.path),
            h('p', {}, p.message),
            h(
              'div',
              { class: 'actions' },
              h(
                'button',
                {
                  type: 'button',
                  id: idOf('retry', r.rule, p.container, p.path),
                  disabled: !enabled,
                  onclick: (e) =>
                    act(e.currentTarget, `syncing ${s.name}`, async () => {
                      const out = await post('sync', { service: s.name });
                      return out.ok
                        ? `${s.name} synced`
                        : `${s.name}: ${out.problems.length} problems remain`;
                    }),
                },
                'Sync again',
              ),
              h('span', { class: 'muted' }, 'or run '),
              h('code', {}, `composync sync ${s.name}`),
            ),
          ),
        );
      }
    }
  }
  if (!enabled && state.actions.reason)
    items.unshift(h('p', { class: 'card problem' }, state.actions.reason));
  replace($('problems'), items.length ? items : h('p', { class: 'muted' }, 'None.'));
}

// --- conflicts ----------------------------------------------------------------------------------

function allConflicts() {
  return state.services.flatMap((s) =>
    s.rules.flatMap((r) => r.conflicts.map((c) => ({ ...c, service: s.name, rule: r.rule }))),
  );
}

function renderConflicts() {
  const list = allConflicts();
  const enabled = state.actions.enabled;
  if (openConflict && !list.some((c) => keyOf(c.rule, c.container, c.path) === openConflict)) {
    openConflict = null;
    openVersions = null;
  }
  const items = list.map((c) => {
    const key = keyOf(c.rule, c.container, c.path);
    const resolve = (keep, label) =>
      h(
        'button',
        {
          type: 'button',
          id: idOf(`keep-${keep}`, key),
          'data-keep': keep,
          disabled: !enabled,
          onclick: (e) =>
            act(e.currentTarget, `${label}: ${c.path}`, async () => {
              const out = await post('resolve', {
                rule: c.rule,
                container: c.container,
                path: c.path,
                keep,
              });
              if (!out.ok) throw new Error(out.problems.map((p) => p.message).join('; '));
              return `${c.path}: ${label.toLowerCase()}${out.copy ? ` (container copy: ${out.copy})` : ''}`;
            }),
        },
        label,
      );
    return h(
      'div',
      { class: 'card conflict', 'data-path': c.path, 'data-rule': c.rule },
      h('strong', { class: 'mono' }, c.path),
      h('span', { class: 'muted' }, ` ${c.rule} in ${c.container}`),
      h('p', {}, c.reason),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            id: idOf('show', key),
            'aria-expanded': String(openConflict === key),
            onclick: () => toggleDiff(c, key),
          },
          openConflict === key ? 'Hide versions' : 'Show versions',
        ),
        resolve('local', 'Keep local'),
        resolve('container', 'Keep container'),
        resolve('both', 'Keep both'),
      ),
    );
  });
  // the open conflict's versions go inside its card (the box is moved, not rebuilt)
  const box = $('diff');
  const i = list.findIndex((c) => keyOf(c.rule, c.container, c.path) === openConflict);
  (i >= 0 ? items[i] : $('conflicts').parentElement).append(box);
  replace($('conflicts'), items.length ? items : h('p', { class: 'muted' }, 'None.'));
  renderDiff();
}

async function toggleDiff(c, key) {
  if (openConflict === key) {
    openConflict = null;
    openVersions = null;
    renderConflicts();
    return;
  }
  openConflict = key;
  openVersions = null;
  renderConflicts();
  const q = new URLSearchParams({ rule: c.rule, container: c.container, path: c.path });
  try {
    const res = await fetch(`${api('diff')}?${q}`);
    const out = await res.json();
    if (!res.ok) throw new Error(out.error ?? `HTTP ${res.status}`);
    if (openConflict === key) openVersions = out;
  } catch (err) {
    if (openConflict === key) openVersions = { error: err.message };
  }
  renderDiff();
}

function describe(v) {
  if (!v.exists) return v.error ? `missing (${v.error})` : 'missing';
  if (v.error) return v.error;
  if (v.kind === 'symlink') return `symlink → ${v.link}`;
  if (v.kind === 'dir') return 'directory';
  return `${bytes(v.size)}, sha1 ${v.hash}${v.binary ? ', binary' : ''}${v.truncated ? ', first 256 kB shown' : ''}`;
}

/** Side-by-side lines from the line diff: common lines on both sides, changes aligned. */
function diffRows(parts) {
  const rows = [];
  const lines = (s) => s.replace(/\n$/, '').split('\n');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (!p.added && !p.removed) {
      for (const l of lines(p.value)) rows.push([l, l, '', '']);
    } else if (p.removed && parts[i + 1]?.added) {
      const a = lines(p.value);
      const b = lines(parts[i + 1].value);
      for (let j = 0; j < Math.max(a.length, b.length); j++)
        rows.push([a[j] ?? '', b[j] ?? '', j < a.length ? 'del' : '', j < b.length ? 'add' : '']);
      i++;
    } else if (p.removed) {
      for (const l of lines(p.value)) rows.push([l, '', 'del', '']);
    } else {
      for (const l of lines(p.value)) rows.push(['', l, '', 'add']);
    }
  }
  return rows;
}

function renderDiff() {
  const box = $('diff');
  if (!openConflict) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.hidden = false;
  const v = openVersions;
  if (!v) return replace(box, h('p', { class: 'muted' }, 'reading both versions…'));
  if (v.error) return replace(box, h('p', { class: 'state-error' }, v.error));
  const head = h(
    'div',
    { class: 'sides' },
    h(
      'div',
      { class: 'side' },
      h('strong', {}, 'Local'),
      h('p', { class: 'mono', 'data-side': 'local' }, describe(v.local)),
    ),
    h(
      'div',
      { class: 'side' },
      h('strong', {}, 'Container'),
      h('p', { class: 'mono', 'data-side': 'container' }, describe(v.container)),
    ),
  );
  const nodes = [h('h3', {}, `Versions of ${v.path}`), head];
  if (v.diff) {
    const grid = h('div', {
      class: 'diff-grid',
      role: 'table',
      'aria-label': `diff of ${v.path}`,
      tabindex: '0',
    });
    grid.append(
      h('div', { class: 'cell head' }, 'local'),
      h('div', { class: 'cell head' }, 'container'),
    );
    for (const [l, r, lc, rc] of diffRows(v.diff))
      grid.append(h('div', { class: `cell ${lc}` }, l), h('div', { class: `cell ${rc}` }, r));
    nodes.push(grid);
  } else if (v.local.text !== undefined || v.container.text !== undefined) {
    nodes.push(
      h(
        'div',
        { class: 'sides' },
        h('pre', { class: 'side' }, v.local.text ?? ''),
        h('pre', { class: 'side' }, v.container.text ?? ''),
      ),
    );
  }
  replace(box, nodes);
}

// --- verify --------------------------------------------------------------------------------------

function renderVerify(out) {
  $('verify-section').hidden = false;
  const rows = out.results.map((r) => {
    const entries = [
      ...r.missing.map((e) => ['missing', e]),
      ...r.different.map((e) => ['different', e]),
      ...r.extra.map((e) => [r.extraIsDrift ? 'extra' : 'extra (kept by the mode)', e]),
    ];
    return h(
      'div',
      { class: `card ${r.drift ? 'problem' : ''}`, 'data-rule': r.rule },
      h('strong', {}, `${r.rule} → ${r.container}:${r.target}`),
      ' ',
      h(
        'span',
        { class: `badge ${r.drift ? 'state-error' : 'state-watching'}` },
        r.drift ? 'drift' : 'in sync',
      ),
      h('span', { class: 'muted' }, ` ${r.compared} paths, ${r.ms} ms`),
      entries.length
        ? h(
            'ul',
            {},
            entries
              .slice(0, 200)
              .map(([what, e]) =>
                h(
                  'li',
                  { class: 'mono' },
                  `${what}: ${e.path}${e.kind === 'dir' ? '/' : ''}${e.below ? ` (+${e.below} below)` : ''}`,
                ),
              ),
          )
        : null,
      r.problems.map((p) => h('p', { class: 'state-error' }, `${p.path}: ${p.message}`)),
    );
  });
  replace(
    $('verify-results'),
    rows.length ? rows : h('p', { class: 'muted' }, 'No running container to compare.'),
  );
}

// --- events ----------------------------------------------------------------------------------------

function fillFilters() {
  const fill = (sel, values) => {
    const cur = sel.value;
    sel.replaceChildren(
      h('option', { value: '' }, 'all'),
      ...values.map((v) => h('option', { value: v }, v)),
    );
    sel.value = values.includes(cur) ? cur : '';
  };
  fill(
    $('filter-service'),
    state.services.map((s) => s.name),
  );
  fill($('filter-kind'), state.kinds);
}

function eventRow(e) {
  return h(
    'li',
    { class: `event level-${e.level}`, 'data-kind': e.event, 'data-service': e.service ?? '' },
    h('span', { class: 'mono muted', title: e.ts }, e.ts.slice(11, 23)),
    h('span', {}, e.service ?? ''),
    h('span', {}, e.event),
    h(
      'span',
      {},
      e.message,
      typeof e.ms === 'number' ? h('span', { class: 'muted' }, ` (${e.ms} ms)`) : '',
    ),
  );
}

function matches(e) {
  const svc = $('filter-service').value;
  const kind = $('filter-kind').value;
  return (!svc || e.service === svc) && (!kind || e.event === kind);
}

function renderEvents() {
  const shown = events.filter(matches).slice(-SHOWN_EVENTS).reverse();
  replace(
    $('event-list'),
    shown.length ? shown.map(eventRow) : h('li', { class: 'muted' }, 'No events.'),
  );
}

// --- wiring ------------------------------------------------------------------------------------------

function renderState() {
  $('project').textContent = state.project;
  const live = $('live');
  live.textContent =
    state.role === 'watcher'
      ? 'live: watcher'
      : state.live
        ? `live: watcher pid ${state.watcherPid}`
        : 'no watcher (syncs on request)';
  live.className = `badge ${state.role === 'watcher' || state.live ? 'live-yes' : ''}`;
  fillFilters();
  renderProblems();
  renderConflicts();
  renderServices();
}

function connect() {
  const es = new EventSource(api('events'));
  es.addEventListener('state', (e) => {
    state = JSON.parse(e.data);
    renderState();
    renderEvents();
  });
  es.addEventListener('log', (e) => {
    const recs = JSON.parse(e.data);
    events.push(...recs);
    if (events.length > MAX_EVENTS) events = events.slice(-MAX_EVENTS);
    if (!state) return;
    renderEvents();
    if (recs.some((r) => r.event === 'sync')) renderServices();
  });
  es.addEventListener('error', () => {
    $('live').textContent = 'disconnected: reconnecting…';
    $('live').className = 'badge state-error';
    // the server sends its whole backlog again on reconnect
    events = [];
  });
}

$('filter-service').addEventListener('change', renderEvents);
$('filter-kind').addEventListener('change', renderEvents);
$('verify').addEventListener('click', (e) =>
  act(e.currentTarget, 'verifying', async () => {
    const out = await post('verify', {});
    renderVerify(out);
    return out.drift ? 'verify: drift found (see Verify)' : 'verify: no drift';
  }),
);
// "Last sync" ages move on without any request
setInterval(() => state && renderServices(), 10_000);
connect();
