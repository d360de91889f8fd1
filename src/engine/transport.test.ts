import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTransport, TRANSPORT_THRESHOLDS, type TransportFacts } from './transport.js';

const small: TransportFacts = {
  tar: 'busybox',
  via: 'auto',
  onTmpfs: false,
  linksOutside: false,
  compress: false,
  entries: 3,
  bytes: () => 4096,
};
const { streamMaxEntries: N, streamMaxBytes: B } = TRANSPORT_THRESHOLDS;

// [case, facts over the small batch, transport]
const rows: [string, Partial<TransportFacts>, 'archive' | 'tar-stream'][] = [
  ['a small batch: the stream', {}, 'tar-stream'],
  ['GNU tar alike', { tar: 'gnu' }, 'tar-stream'],
  ['no tar in the image: the endpoint', { tar: 'none' }, 'archive'],
  ['no tar, even on a tmpfs (nothing else can write)', { tar: 'none', onTmpfs: true }, 'archive'],
  ['on a tmpfs: only the stream reaches it', { onTmpfs: true, via: 'archive' }, 'tar-stream'],
  ['asked for the endpoint', { via: 'archive' }, 'archive'],
  ['busybox and a link pointing out', { linksOutside: true }, 'archive'],
  ['GNU tar and a link pointing out', { tar: 'gnu', linksOutside: true }, 'tar-stream'],
  ['asked for the stream, whatever its size', { via: 'tar-stream', entries: N + 1 }, 'tar-stream'],
  ['compressed (a remote engine)', { compress: true }, 'archive'],
  [`${N} entries`, { entries: N }, 'tar-stream'],
  [`${N + 1} entries`, { entries: N + 1 }, 'archive'],
  ['just under the byte limit', { bytes: () => B - 1 }, 'tar-stream'],
  ['at the byte limit', { bytes: () => B }, 'archive'],
];

describe('chooseTransport', () => {
  for (const [what, facts, want] of rows)
    test(what, async () => assert.equal(await chooseTransport({ ...small, ...facts }), want));

  test('the files are sized only when the count allows the stream', async () => {
    let asked = 0;
    const bytes = () => ++asked;
    await chooseTransport({ ...small, entries: N + 1, bytes });
    await chooseTransport({ ...small, compress: true, bytes });
    assert.equal(asked, 0);
  });
});
