/**
 * Segment files of the write-ahead log: `wal-00000001.log`, `wal-00000002.log`, ... numbered from 1 without
 * gaps, replayed in number order. Other files in the directory (the lock) are not segments.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface Segment {
  readonly number: number;
  readonly path: string;
}

const SEGMENT_NAME = /^wal-(\d{8})\.log$/;

export function segmentPath(dir: string, number: number): string {
  return join(dir, `wal-${String(number).padStart(8, '0')}.log`);
}

/** The segments in `dir`, in replay order. */
export async function listSegments(dir: string): Promise<Segment[]> {
  const segments: Segment[] = [];
  for (const name of await readdir(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match !== null) segments.push({ number: Number(match[1]), path: join(dir, name) });
  }
  return segments.sort((a, b) => a.number - b.number);
}
