/**
 * ONNX (onnxruntime-node) vs PyTorch parity: every folder under test/fixtures/parity/ holds fixed inputs and
 * PyTorch's outputs (raw float32 little-endian .bin, shapes in meta.json), written by training/make_fixtures.py
 * (tiny fixtures) or training/export.py --parity (trained models).
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { PARITY, ROOT, parityDirs, readF32, readMeta } from '../helpers/parity';
import { join } from 'node:path';

const dirs = parityDirs();

describe('ONNX parity with PyTorch', () => {
  it('has parity fixtures', () => {
    expect(dirs.length).toBeGreaterThan(0);
  });

  for (const name of dirs) {
    it(`${name}: onnxruntime-node output matches PyTorch`, async () => {
      const dir = join(PARITY, name);
      const meta = readMeta(dir);
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
