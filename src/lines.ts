/**
 * Lines of a stream as they arrive: for outputs too large to gather first (a container listing,
 * a state file of 100,000 records), and for the answers of long-running processes.
 */
import { StringDecoder } from 'node:string_decoder';

/**
 * Call `onLine` for each '\n'-separated line of `source` (UTF-8 bytes or strings), then once for
 * what follows the last '\n' (an empty string when the source ends with one). The lines are split
 * as bytes ({@link forEachLineBytes}; a '\n' byte is never part of another UTF-8 character) and
 * each is decoded whole, so a character split across chunks reads back as one.
 */
export async function forEachLine(
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  onLine: (line: string) => void,
): Promise<void> {
  await forEachLineBytes(bytesOf(source), (buf, start, end) =>
    onLine(buf.toString('utf8', start, end)),
  );
}

async function* bytesOf(source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>) {
  for await (const chunk of source) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/**
 * Call `onLine(buf, start, end)` for each '\n'-separated line of a byte stream, the line being
 * `buf[start, end)`, then once for what follows the last '\n'. For parsers that read their
 * fields from the bytes: decoding every line into a string cost more than parsing it, and each
 * string cut out of such a line is a slice that keeps the line's whole chunk alive. `buf` is
 * valid only during the call.
 */
export async function forEachLineBytes(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  onLine: (buf: Buffer, start: number, end: number) => void,
): Promise<void> {
  // the start of a line that continues in a later chunk, joined once its end has come
  let pending: Buffer[] = [];
  for await (const chunk of source) {
    let from = 0;
    let nl = chunk.indexOf(10);
    if (nl === -1) {
      pending.push(chunk);
      continue;
    }
    if (pending.length) {
      pending.push(chunk.subarray(0, nl));
      const line = Buffer.concat(pending);
      pending = [];
      onLine(line, 0, line.length);
      from = nl + 1;
      nl = chunk.indexOf(10, from);
    }
    for (; nl !== -1; nl = chunk.indexOf(10, from)) {
      onLine(chunk, from, nl);
      from = nl + 1;
    }
    if (from < chunk.length) pending.push(chunk.subarray(from));
  }
  const last = Buffer.concat(pending);
  onLine(last, 0, last.length);
}

/**
 * Call `onLine` for each '\n'-separated line of a stream that never ends while it is used (a
 * long-running process's output), as each line arrives; a last line without its '\n' is not
 * delivered.
 */
export function onLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += decoder.write(chunk);
    let from = 0;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n', from)) {
      onLine(buf.slice(from, nl));
      from = nl + 1;
    }
    buf = buf.slice(from);
  });
}
