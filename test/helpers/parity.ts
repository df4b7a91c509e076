/**
 * Parity fixtures (test/fixtures/parity/<name>/): fixed inputs and PyTorch's outputs as raw float32
 * little-endian .bin files, shapes in meta.json. Shared by parity.test.ts and policy-parity.test.ts.
 */
import { expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const PARITY = join(ROOT, 'test', 'fixtures', 'parity');

export interface TensorSpec {
  file: string;
  shape: number[];
}
export interface ParityMeta {
  model: string;
  kind: string;
  tolerance: number;
  inputs: Record<string, TensorSpec>;
  outputs: Record<string, TensorSpec>;
  sequence?: { B: number; K: number; files: Record<string, TensorSpec> };
}

/** Reads a .bin of float32 LE values, checking its size against the shape. */
export function readF32(path: string, shape: number[]): Float32Array {
  const buf = readFileSync(path);
  const n = shape.reduce((a, b) => a * b, 1);
  expect(buf.byteLength).toBe(n * 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

/** Fixture folders (those with a meta.json) whose name passes `keep`. */
export function parityDirs(keep: (name: string) => boolean = () => true): string[] {
  if (!existsSync(PARITY)) return [];
  return readdirSync(PARITY, { withFileTypes: true })
    .filter((d) => d.isDirectory() && keep(d.name) && existsSync(join(PARITY, d.name, 'meta.json')))
    .map((d) => d.name);
}

export function readMeta(dir: string): ParityMeta {
  return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as ParityMeta;
}
