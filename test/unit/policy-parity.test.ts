/**
 * The trained skip policies (models/<id>/policy.onnx) against PyTorch, through onnxruntime-node, as the engine
 * uses them: fixtures in test/fixtures/parity/policy-<id>/ written by `training/train_policy.py export`.
 *   - one batched step (meta.inputs/outputs; parity.test.ts checks it too),
 *   - a chained episode: K steps for B lanes with the GRU state fed back (h = h_out of the previous step, zeros at
 *     the start), as policyDecider does; every step's p_denoise / value / h_out within the tolerance, and the greedy
 *     decisions (p ≥ 0.5) equal wherever PyTorch's p is not within the tolerance of 0.5.
 * Also checks the package's card declares the policy the way the engine loads it.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { PARITY, ROOT, parityDirs, readF32, readMeta } from '../helpers/parity';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';

const maxAbs = (a: Float32Array, b: Float32Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const dirs = parityDirs((n) => n.startsWith('policy-'));

describe('trained skip policy: onnxruntime-node vs PyTorch', () => {
  it.skipIf(dirs.length === 0)('has policy fixtures', () => {
    expect(dirs.length).toBeGreaterThan(0);
  });

  for (const name of dirs) {
    const dir = join(PARITY, name);
    const meta = readMeta(dir);
    const tol = meta.tolerance ?? 1e-3;
    const modelPath = join(ROOT, meta.model);

    it(`${name}: card declares the policy as the engine loads it`, () => {
      const cardPath = join(dirname(modelPath), 'card.json');
      if (!existsSync(cardPath)) return; // fixture written before the package existed
      const card = JSON.parse(readFileSync(cardPath, 'utf8'));
      expect(card.files.policy).toBe('policy.onnx');
      expect(card.io.policy.inputs).toEqual(['x0_hat', 't_feat', 'h']);
      expect(card.io.policy.outputs).toEqual(['p_denoise', 'value', 'h_out']);
      expect(card.io.policy.imageSize).toBe(meta.inputs.x0_hat.shape[2]);
      expect(card.io.policy.hidden).toBe(meta.inputs.h.shape[1]);
    });

    it(`${name}: one batched step`, async () => {
      const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      expect([...session.inputNames]).toEqual(['x0_hat', 't_feat', 'h']);
      expect([...session.outputNames]).toEqual(['p_denoise', 'value', 'h_out']);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [k, spec] of Object.entries(meta.inputs)) feeds[k] = new ort.Tensor('float32', readF32(join(dir, spec.file), spec.shape), spec.shape);
      const res = await session.run(feeds);
      for (const [k, spec] of Object.entries(meta.outputs)) {
        expect([...res[k].dims]).toEqual(spec.shape);
        const d = maxAbs(res[k].data as Float32Array, readF32(join(dir, spec.file), spec.shape));
        console.log(`[policy-parity] ${name}/${k}: max |onnx - torch| = ${d.toExponential(3)}`);
        expect(d).toBeLessThanOrEqual(tol);
      }
      await session.release();
    });

    it.skipIf(!meta.sequence)(`${name}: chained episode with the GRU state fed back`, async () => {
      const seq = meta.sequence!;
      const { B, K } = seq;
      const f = (k: string) => readF32(join(dir, seq.files[k].file), seq.files[k].shape);
      const xs = f('seq_x0_hat');
      const ts = f('seq_t_feat');
      const ps = f('seq_p_denoise');
      const vs = f('seq_value');
      const hs = f('seq_h_out');
      const S = seq.files.seq_x0_hat.shape[3];
      const H = seq.files.seq_h_out.shape[2];
      const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      let h = new Float32Array(B * H);
      let worst = 0;
      for (let k = 0; k < K; k++) {
        const plane = B * 3 * S * S;
        const res = await session.run({
          x0_hat: new ort.Tensor('float32', xs.slice(k * plane, (k + 1) * plane), [B, 3, S, S]),
          t_feat: new ort.Tensor('float32', ts.slice(k * B * 3, (k + 1) * B * 3), [B, 3]),
          h: new ort.Tensor('float32', h, [B, H]),
        });
        const p = res.p_denoise.data as Float32Array;
        const wantP = ps.slice(k * B, (k + 1) * B);
        worst = Math.max(worst, maxAbs(p, wantP), maxAbs(res.value.data as Float32Array, vs.slice(k * B, (k + 1) * B)));
        const hOut = res.h_out.data as Float32Array;
        worst = Math.max(worst, maxAbs(hOut, hs.slice(k * B * H, (k + 1) * B * H)));
        for (let b = 0; b < B; b++) if (Math.abs(wantP[b] - 0.5) > tol) expect(p[b] >= 0.5, `step ${k} lane ${b}`).toBe(wantP[b] >= 0.5);
        h = new Float32Array(hOut); // fed back, as policyDecider does
      }
      console.log(`[policy-parity] ${name}: ${K}-step episode, B=${B}: max |onnx - torch| = ${worst.toExponential(3)}`);
      expect(worst).toBeLessThanOrEqual(tol);
      await session.release();
    });
  }
});
