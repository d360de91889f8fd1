/**
 * Lines of a stream as they arrive, for outputs too large to gather first (a container listing,
 * a state file of 100,000 records).
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
