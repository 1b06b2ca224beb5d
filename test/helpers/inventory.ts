// Reading inventories as streams in tests: counting a JSON or CSV inventory's archives without holding it,
// and a process's peak RSS.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import chain from 'stream-chain';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';

/** Peak resident set of a process in MB (VmHWM). */
export function peakRssMB(pid: number): number {
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return kb / 1024;
}

/** Counts a JSON inventory's archives as it streams, checking each one's shape. */
export async function countJson(body: Readable, check: (a: { ArchiveId: string; Size: number; SHA256TreeHash: string; ArchiveDescription: string }) => void): Promise<number> {
  let n = 0;
  const items = chain([body, parser(), pick({ filter: 'ArchiveList' }), streamArray()]);
  for await (const { value } of items as AsyncIterable<{ value: { ArchiveId: string; Size: number; SHA256TreeHash: string; ArchiveDescription: string } }>) {
    check(value);
    n++;
  }
  return n;
}

/** Counts a CSV inventory's rows as it streams (header checked), checking each row's fixed fields. */
export async function countCsv(body: Readable, check: (fields: string[]) => void): Promise<number> {
  let rest = '';
  let n = -1;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const lines = (rest + chunk.toString('latin1')).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (n === -1) assert.equal(line, 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
      else check(line.split(','));
      n++;
    }
  }
  assert.equal(rest, '', 'the CSV ends with a newline');
  return n;
}

/** Counts a JSON inventory's archives by their "ArchiveId" keys as it streams, cheaper than parsing. */
export async function countJsonKeys(body: Readable): Promise<number> {
  const key = '{"ArchiveId":"';
  let n = 0;
  let tail = '';
  let last = '';
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const text = tail + chunk.toString('latin1');
    for (let i = text.indexOf(key); i >= 0; i = text.indexOf(key, i + key.length)) n++;
    tail = text.slice(-(key.length - 1));
    last = text.slice(-2);
  }
  assert.equal(last, ']}', 'the JSON inventory ends its archive list');
  return n;
}
