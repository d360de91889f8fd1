/**
 * Lines of a stream as they arrive: for outputs too large to gather first (a container listing,
 * a state file of 100,000 records), and for the answers of long-running processes.
 */
import { StringDecoder } from 'node:string_decoder';

/**
 * Call `onLine` for each '\n'-separated line of `source` (UTF-8 bytes or strings), then once for
 * what follows the last '\n' (an empty string when the source ends with one).
 */
export async function forEachLine(
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of source) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      onLine(text.slice(from, nl));
      from = nl + 1;
    }
    rest = text.slice(from);
  }
  onLine(rest + decoder.end());
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
