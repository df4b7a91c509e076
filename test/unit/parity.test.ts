/**
 * ONNX (onnxruntime-node) vs PyTorch parity: every folder under test/fixtures/parity/ holds fixed inputs and
 * PyTorch's outputs (raw float32 little-endian .bin, shapes in meta.json), written by training/make_fixtures.py
 * (tiny fixtures) or training/export.py --parity (trained models).
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const PARITY = join(ROOT, 'test', 'fixtures', 'parity');

interface TensorSpec {
  file: string;
  shape: number[];
}
interface Meta {
  model: string;
  kind: string;
  tolerance: number;
  inputs: Record<string, TensorSpec>;
  outputs: Record<string, TensorSpec>;
}

function readF32(path: string, shape: number[]): Float32Array {
  const buf = readFileSync(path);
  const n = shape.reduce((a, b) => a * b, 1);
  expect(buf.byteLength).toBe(n * 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

const dirs = existsSync(PARITY)
  ? readdirSync(PARITY, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(PARITY, d.name, 'meta.json')))
      .map((d) => d.name)
  : [];

describe('ONNX parity with PyTorch', () => {
  it('has parity fixtures', () => {
    expect(dirs.length).toBeGreaterThan(0);
  });

  for (const name of dirs) {
    it(`${name}: onnxruntime-node output matches PyTorch`, async () => {
      const dir = join(PARITY, name);
      const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
      const session = await ort.InferenceSession.create(join(ROOT, meta.model), {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
      });
      expect([...session.inputNames].sort()).toEqual(Object.keys(meta.inputs).sort());
      const feeds: Record<string, ort.Tensor> = {};
      for (const [k, spec] of Object.entries(meta.inputs)) {
        feeds[k] = new ort.Tensor('float32', readF32(join(dir, spec.file), spec.shape), spec.shape);
      }
      const results = await session.run(feeds);
      for (const [k, spec] of Object.entries(meta.outputs)) {
        const want = readF32(join(dir, spec.file), spec.shape);
        const got = results[k];
        expect(got, `output ${k}`).toBeDefined();
        expect([...got.dims]).toEqual(spec.shape);
        const data = got.data as Float32Array;
        let maxDiff = 0;
        for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(data[i] - want[i]));
        console.log(`[parity] ${name}/${k}: max |onnx - torch| = ${maxDiff.toExponential(3)} (n=${want.length})`);
        expect(maxDiff).toBeLessThanOrEqual(meta.tolerance ?? 1e-3);
      }
      await session.release();
    });
  }
});
