/**
 * Point configuration problems at the compose file (and line) that defines them. compose merges
 * several files into one model, so a YAML path is looked up in each original file, last file
 * first (the one whose value won the merge), with anchors, aliases and `<<` merge keys followed.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import type { ConfigProblem } from '../errors.js';
import { parseYamlPath, type PathSegment } from './yaml-path.js';

interface ParsedFile {
  path: string;
  doc: Document;
  lines: LineCounter;
}

/** Where a YAML path was found in one file: how many segments matched, and at which offset. */
interface Match {
  depth: number;
  offset: number | undefined;
}

/**
 * Return the problems with `file` set to `name:line` of the compose file that defines their path
 * (the deepest matching prefix of it when the full path is absent, e.g. a missing key). File
 * names are shown relative to `cwd` when they are below it. Problems that already name a file,
 * or that no file defines, are returned unchanged.
 */
export function locateProblems(
  problems: readonly ConfigProblem[],
  composeFiles: readonly string[],
  cwd: string,
): ConfigProblem[] {
  const parsed = composeFiles.flatMap((f) => {
    const p = parseFile(f);
    return p ? [p] : [];
  });
  return problems.map((problem) => {
    if (problem.file || parsed.length === 0) return problem;
    const segments = parseYamlPath(problem.path);
    const watchItem = inWatchList(parsed, segments);
    if (watchItem) return { ...problem, file: fileAndLine(watchItem.file, watchItem.match, cwd) };
    // composync takes a later file's x-sync as a whole (x-sync-files.ts), so the file that
    // holds the problem is the last one that defines the owning section.
    const section = Math.min(sectionDepth(segments), segments.length);
    let best: { file: ParsedFile; match: Match } | null = null;
    for (const file of [...parsed].reverse()) {
      const match = findPath(file.doc, segments);
      if (match.depth >= section) {
        best = { file, match };
        break;
      }
      if (!best || match.depth > best.match.depth) best = { file, match };
    }
    // Require at least the owning service (or the top-level section) to be found.
    const minDepth = segments[0] === 'services' ? Math.min(2, segments.length) : 1;
    if (!best || best.match.depth < minDepth) return problem;
    return { ...problem, file: fileAndLine(best.file, best.match, cwd) };
  });
}

function fileAndLine(file: ParsedFile, match: Match, cwd: string): string {
  const name = displayName(file.path, cwd);
  const line = match.offset !== undefined ? file.lines.linePos(match.offset).line : undefined;
  return line !== undefined ? `${name}:${line}` : name;
}

/**
 * compose appends a later file's `develop.watch` entries to the earlier files' (2.26 and 2.40
 * alike), so entry `i` of the merged list is entry `i - n` of the file after the first files'
 * `n` entries. Null when the path is not inside a watch entry or the files do not add up.
 */
function inWatchList(
  parsed: readonly ParsedFile[],
  segments: readonly PathSegment[],
): { file: ParsedFile; match: Match } | null {
  const [top, service, develop, watch, index] = segments;
  if (top !== 'services' || develop !== 'develop' || watch !== 'watch') return null;
  if (typeof index !== 'number') return null;
  let offset = 0;
  for (const file of parsed) {
    const list = nodeAt(file.doc, ['services', service!, 'develop', 'watch']);
    if (!isSeq(list)) continue;
    if (index < offset + list.items.length) {
      const local = [...segments.slice(0, 4), index - offset, ...segments.slice(5)];
      return { file, match: findPath(file.doc, local) };
    }
    offset += list.items.length;
  }
  return null;
}

/** The node at `segments`, or undefined when the path is not all there. */
function nodeAt(doc: Document, segments: readonly PathSegment[]): unknown {
  let node: unknown = deref(doc, doc.contents);
  for (const seg of segments) {
    const next = child(doc, node, seg);
    if (!next) return undefined;
    node = next.value;
  }
  return node;
}

/** Depth of the section a later file replaces: `x-sync`, `services.X.x-sync`, `...watch`. */
function sectionDepth(segments: readonly PathSegment[]): number {
  if (segments[0] !== 'services') return 1;
  return segments[2] === 'develop' ? 4 : 3;
}

function parseFile(path: string): ParsedFile | null {
  try {
    const lines = new LineCounter();
    const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter: lines, merge: true });
    return { path, doc, lines };
  } catch {
    return null;
  }
}

function displayName(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** Follow `segments` from the document root as far as they go. */
function findPath(doc: Document, segments: readonly PathSegment[]): Match {
  let node: unknown = deref(doc, doc.contents);
  let offset = rangeStart(node);
  let depth = 0;
  for (const seg of segments) {
    const next = child(doc, node, seg);
    if (!next) break;
    node = next.value;
    offset = next.offset ?? offset;
    depth++;
  }
  return { depth, offset };
}

/** The child at `seg`, with the offset to report (the key's, for mapping entries). */
function child(
  doc: Document,
  node: unknown,
  seg: PathSegment,
): { value: unknown; offset: number | undefined } | null {
  if (typeof seg === 'number') {
    if (!isSeq(node)) return null;
    const item = node.items[seg];
    if (item === undefined) return null;
    return { value: deref(doc, item), offset: rangeStart(item) };
  }
  if (!isMap(node)) return null;
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    if (String(key) === seg) return { value: deref(doc, pair.value), offset: rangeStart(pair.key) };
  }
  // Keys pulled in through `<<: *anchor` (or a list of anchors).
  for (const pair of node.items) {
    if (!isScalar(pair.key) || (pair.key.value !== '<<' && pair.key.source !== '<<')) continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const s of sources) {
      const found = child(doc, deref(doc, s), seg);
      if (found) return found;
    }
  }
  return null;
}

function deref(doc: Document, node: unknown): unknown {
  let n = node;
  for (let i = 0; i < 16 && isAlias(n); i++) n = n.resolve(doc);
  return n;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as YamlNode | null | undefined)?.range;
  return range ? range[0] : undefined;
}
