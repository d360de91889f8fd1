import { createHash, type Hash } from 'node:crypto';

/**
 * The content hash used on both sides (local scan, container scan, state, verify). SHA-1 is
 * used for change detection only, not for security; it is fast and native in Node.
 */
export function newHash(): Hash {
  return createHash('sha1');
}

export function hashBuffer(buf: Buffer): string {
  return newHash().update(buf).digest('hex');
}

/** Content hash and length of a stream of chunks (a file read, an archive member). */
export async function hashChunks(
  chunks: AsyncIterable<Buffer>,
): Promise<{ hash: string; size: number }> {
  const h = newHash();
  let size = 0;
  for await (const chunk of chunks) {
    h.update(chunk);
    size += chunk.length;
  }
  return { hash: h.digest('hex'), size };
}
