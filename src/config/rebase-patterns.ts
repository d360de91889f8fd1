/**
 * Moving dockerignore patterns from one root to a directory below it, for the build context's
 * `.dockerignore`, which `docker compose watch` applies to every develop.watch path. Pure.
 */

/**
 * The lines of a dockerignore file that are patterns, as moby's ignore-file reader takes them:
 * trimmed, without blank lines and `#` comments, with `!` kept.
 */
export function dockerignorePatterns(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    // As in moby: a comment is a line starting with '#' before trimming.
    if (raw.startsWith('#')) continue;
    const line = raw.trim();
    if (line !== '') out.push(line);
  }
  return out;
}

/**
 * Rewrite a pattern written relative to a root so that it applies relative to the directory
 * `below` (posix segments from the root to that directory). Returns the equivalent patterns:
 * none when the pattern cannot match anything below; `''` when it matches the directory itself
 * or one of its parents (so everything below is matched). `**` segments may absorb any part of
 * `below`, so one pattern can yield several. A leading `!` is kept.
 */
export function rebasePattern(pattern: string, below: readonly string[]): string[] {
  let p = pattern.trim();
  const neg = p.startsWith('!');
  if (neg) p = p.slice(1).trim();
  const parts = p
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .reduce<string[]>((acc, s) => (s === '..' ? acc.slice(0, -1) : [...acc, s]), []);
  if (parts.length === 0) return [];
  const results = [...new Set(rebase(parts, below))];
  return results.map((r) => (neg ? `!${r}` : r));
}

function rebase(parts: readonly string[], below: readonly string[]): string[] {
  if (below.length === 0) return [parts.join('/')];
  if (parts.length === 0) return [''];
  const [head, ...rest] = parts;
  if (head === '**') {
    // `**` matches zero or more segments: let it absorb the next directory, or nothing.
    return [...rebase(parts, below.slice(1)), ...rebase(rest, below)];
  }
  return segmentMatches(head!, below[0]!) ? rebase(rest, below.slice(1)) : [];
}

const segmentCache = new Map<string, RegExp>();

/** Go filepath.Match on one path segment: `*`, `?`, `[...]` classes and `\` escapes. */
function segmentMatches(glob: string, name: string): boolean {
  let re = segmentCache.get(glob);
  if (!re) {
    let src = '';
    for (let i = 0; i < glob.length; i++) {
      const c = glob[i]!;
      if (c === '*') src += '[^/]*';
      else if (c === '?') src += '[^/]';
      else if (c === '\\' && i + 1 < glob.length) src += escapeRe(glob[++i]!);
      else if (c === '[') {
        const end = glob.indexOf(']', i + 2);
        if (end < 0) {
          src += '\\[';
          continue;
        }
        src += `[${glob.slice(i + 1, end)}]`;
        i = end;
      } else src += escapeRe(c);
    }
    try {
      re = new RegExp(`^${src}$`);
    } catch {
      re = /$^/;
    }
    segmentCache.set(glob, re);
  }
  return re.test(name);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
