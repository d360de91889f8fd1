/**
 * The plain-text rendering of a sync model for `composync config`. (`config --json` prints the
 * model itself: it is plain JSON-serialisable data.)
 */
import { BUILTIN_EXCLUDES, type SyncModel, type SyncRule } from '../core/model.js';

/**
 * Render the model: per service, each rule with its absolute source, container target, mode,
 * initial sync and excludes, then the rebuild, restart/signal and exec triggers. Built-in
 * excludes are summarised rather than repeated for every rule.
 */
export function describeModel(model: SyncModel): string {
  const lines: string[] = [];
  lines.push(`project ${model.projectName}`);
  lines.push(`  directory: ${model.projectDir}`);
  if (model.composeFiles.length > 0)
    lines.push(`  compose files: ${model.composeFiles.join(', ')}`);
  lines.push(`  built-in excludes: ${BUILTIN_EXCLUDES.join(' ')}`);

  if (model.services.length === 0) {
    lines.push('', 'no service has x-sync or develop.watch');
  }
  for (const s of model.services) {
    lines.push('');
    const traits = [
      s.buildable ? 'buildable' : 'image only',
      `debounce ${s.debounce} ms`,
      `maxWait ${s.maxWait} ms`,
      `deleteGuard ${Math.round(s.deleteGuard * 100)}%`,
    ];
    lines.push(`service ${s.name} (${traits.join(', ')})`);
    for (const r of s.rules) lines.push(...describeRule(r));
    if (s.rebuild.length) lines.push(`  rebuild when: ${s.rebuild.join(' ')}`);
    for (const t of s.restart) {
      const what = t.signal ? `signal ${t.signal} to PID 1` : 'restart';
      lines.push(`  ${what} when: ${t.paths.join(' ')}`);
    }
    for (const t of s.exec) {
      const cmd =
        typeof t.command === 'string'
          ? `sh -c ${JSON.stringify(t.command)}`
          : JSON.stringify(t.command);
      const extras = [
        t.on === 'host' ? 'on the host' : '',
        t.user ? `user ${t.user}` : '',
        t.workdir ? `workdir ${t.workdir}` : '',
        Object.keys(t.env).length ? `env ${Object.keys(t.env).join(',')}` : '',
      ].filter(Boolean);
      lines.push(
        `  exec ${cmd}${extras.length ? ` (${extras.join(', ')})` : ''} when: ${t.paths.join(' ')}`,
      );
    }
  }
  const others = model.allServices.filter((n) => !model.services.some((s) => s.name === n));
  if (others.length) lines.push('', `services without sync: ${others.join(', ')}`);
  return lines.join('\n') + '\n';
}

function describeRule(r: SyncRule): string[] {
  const source =
    r.kind === 'file' && r.only !== undefined
      ? joinPath(r.root, r.only)
      : r.kind === 'glob' && r.glob !== undefined
        ? joinPath(r.root, r.glob)
        : r.root;
  const out = [`  ${r.id}: ${source} -> ${r.target}  [${r.kind}]`];
  const from = r.origin === 'develop.watch' ? `, from ${r.yamlPath}` : '';
  out.push(`    mode ${r.mode}, initial sync ${r.initialSync}${from}`);
  const own = r.exclude.filter((p) => !BUILTIN_EXCLUDES.includes(p));
  if (own.length) out.push(`    exclude: ${own.join(' ')}`);
  if (r.include.length) out.push(`    include: ${r.include.join(' ')}`);
  if (r.uploadExclude.length) out.push(`    upload exclude: ${r.uploadExclude.join(' ')}`);
  if (r.downloadExclude.length) out.push(`    download exclude: ${r.downloadExclude.join(' ')}`);
  if (r.strip) out.push(`    strip: ${r.strip}`);
  const perms = [
    r.owner !== undefined ? `owner ${r.owner}` : '',
    r.group !== undefined ? `group ${r.group}` : '',
    r.fileMode !== undefined ? `fileMode 0${r.fileMode.toString(8)}` : '',
    r.dirMode !== undefined ? `dirMode 0${r.dirMode.toString(8)}` : '',
    r.symlinks !== 'preserve' ? `symlinks ${r.symlinks}` : '',
  ].filter(Boolean);
  if (perms.length) out.push(`    ${perms.join(', ')}`);
  return out;
}

function joinPath(root: string, rel: string): string {
  return root.endsWith('/') || root.endsWith('\\') ? root + rel : `${root}/${rel}`;
}
