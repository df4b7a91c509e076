/** Shipped int8 denoisers (card files.denoiserInt8): same I/O as the card, eps close to the float denoiser's. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ModelCard } from '../../src/shared/card';

const root = fileURLToPath(new URL('../..', import.meta.url));
const withInt8 = readdirSync(`${root}models`)
  .filter((d) => existsSync(`${root}models/${d}/card.json`))
  .map((d) => ({ dir: `${root}models/${d}`, card: ModelCard.parse(JSON.parse(readFileSync(`${root}models/${d}/card.json`, 'utf8'))) }))
  .filter((m) => m.card.files.denoiserInt8);

function feeds(T: number) {
  const n = 3 * T * T;
  const x = new Float32Array(n);
  const c = new Float32Array(n);
  // a smooth "photo" as cond and x_t = gamma * photo + sqrt(1 - gamma^2) * deterministic pseudo-noise
  let s = 1;
  const g = 0.6;
  for (let i = 0; i < n; i++) {
    const p = i % (T * T);
    const v = 0.6 * Math.sin((p % T) / 9) * Math.cos(Math.floor(p / T) / 13 + i / (T * T));
    s = (s * 1103515245 + 12345) >>> 0;
    const u = ((s >>> 8) / 2 ** 24) * 2 - 1;
    c[i] = v;
    x[i] = g * v + Math.sqrt(1 - g * g) * u * 1.7;
  }
  return { x_t: new ort.Tensor('float32', x, [1, 3, T, T]), cond: new ort.Tensor('float32', c, [1, 3, T, T]), gamma: new ort.Tensor('float32', new Float32Array([g]), [1]) };
}

describe('int8 denoisers', () => {
  it('ship for at least one model', () => {
    expect(withInt8.length).toBeGreaterThan(0);
  });
  for (const { dir, card } of withInt8) {
    it(`${card.id}: same I/O, eps within a few % of the float denoiser, quality deltas recorded`, async () => {
      const opts = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
      const f = await ort.InferenceSession.create(`${dir}/${card.files.denoiser}`, opts);
      const q = await ort.InferenceSession.create(`${dir}/${card.files.denoiserInt8}`, opts);
      expect([...q.inputNames].sort()).toEqual([...card.io.denoiser.inputs].sort());
      expect([...q.outputNames]).toEqual([...card.io.denoiser.outputs]);
      const T = card.tile.size;
      const a = (await f.run(feeds(T))).eps.data as Float32Array;
      const b = (await q.run(feeds(T))).eps.data as Float32Array;
      let num = 0;
      let den = 0;
      for (let i = 0; i < a.length; i++) {
        num += (a[i] - b[i]) ** 2;
        den += a[i] ** 2;
      }
      const rel = Math.sqrt(num / den);
      expect(rel).toBeGreaterThan(0); // it is a different (quantised) network
      expect(rel).toBeLessThan(0.02);
      const m = card.metrics?.int8 as { dPsnr: number; dNiqe: number } | undefined;
      expect(Math.abs(m!.dPsnr)).toBeLessThanOrEqual(0.05);
      expect(Math.abs(m!.dNiqe)).toBeLessThanOrEqual(0.05);
    });
  }
});
