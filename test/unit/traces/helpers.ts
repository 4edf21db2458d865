import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'pd-traces-'));
let counter = 0;

/** Write a fixture file (text or bytes) under a fresh temp dir and return its path. */
export function fixture(name: string, content: string | Uint8Array): string {
  counter++;
  const path = join(dir, `${counter}-${name}`);
  writeFileSync(path, content);
  return path;
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

/** Requests per window of `width` seconds over [0, duration]. */
export function windowCounts(arrival: Float64Array, width: number, duration: number): number[] {
  const counts = new Array<number>(Math.floor(duration / width) + 1).fill(0);
  for (const t of arrival) counts[Math.min(counts.length - 1, Math.floor(t / width))]!++;
  return counts;
}

export function isSorted(arrival: Float64Array): boolean {
  for (let i = 1; i < arrival.length; i++) if ((arrival[i] as number) < (arrival[i - 1] as number)) return false;
  return true;
}
