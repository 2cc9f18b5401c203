/**
 * The embedded journal's checkpoint: every indexed client's newest position
 * and snapshot, written as one file (`checkpoint.jsonl`) by write-to-temp +
 * fdatasync + rename, so a crash leaves either the old or the new one.
 *
 * Line 1: `{"v":1,"checkpoint":C,"clients":N}`; then one line per client:
 * `{"c":clientId,"l":lastSeq,"s":snapSeq,"m":machineVersion,"p":packed}`
 * (`s`, `m`, `p` absent without a snapshot). Recovery loads it, then replays
 * the segment records after position C.
 */
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexEntry } from './memory-index.js';
import { readLines } from './segment-store.js';

export const CHECKPOINT_FILE = 'checkpoint.jsonl';
const WRITE_CHUNK = 1 << 20;

/** Write a checkpoint at position `seq` holding `entries`. */
export async function writeCheckpoint(dir: string, seq: number, entries: readonly IndexEntry[]): Promise<void> {
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    let chunk = `${JSON.stringify({ v: 1, checkpoint: seq, clients: entries.length })}\n`;
    for (const e of entries) {
      const line =
        e.snapSeq > 0 && e.packed !== undefined
          ? { c: e.clientId, l: e.lastSeq, s: e.snapSeq, m: e.machineVersion, p: e.packed }
          : { c: e.clientId, l: e.lastSeq };
      chunk += `${JSON.stringify(line)}\n`;
      if (chunk.length >= WRITE_CHUNK) {
        await fh.write(chunk);
        chunk = '';
      }
    }
    if (chunk.length > 0) await fh.write(chunk);
    await fh.datasync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, join(dir, CHECKPOINT_FILE));
  const dfh = await open(dir, 'r').catch(() => undefined);
  if (dfh)
    await dfh
      .sync()
      .catch(() => undefined)
      .finally(() => dfh.close());
}

/** Load the checkpoint into `onEntry`; returns its position (0 when there is none). */
export async function readCheckpoint(dir: string, onEntry: (e: IndexEntry) => void): Promise<{ seq: number; corrupt: number }> {
  let seq = 0;
  let first = true;
  let corrupt = 0;
  for await (const { line } of readLines(join(dir, CHECKPOINT_FILE))) {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch {
      corrupt++;
      continue;
    }
    if (first) {
      first = false;
      if (typeof v.checkpoint === 'number') {
        seq = v.checkpoint;
        continue;
      }
    }
    if (typeof v.c !== 'string' || typeof v.l !== 'number') {
      corrupt++;
      continue;
    }
    const hasSnap = typeof v.s === 'number' && typeof v.p === 'string';
    onEntry({
      clientId: v.c,
      lastSeq: v.l,
      snapSeq: hasSnap ? (v.s as number) : 0,
      packed: hasSnap ? (v.p as string) : undefined,
      machineVersion: typeof v.m === 'string' ? v.m : '',
    });
  }
  return { seq, corrupt };
}
