/**
 * TypeScript metrics vs the independent Python reference (training/metrics_ref.py ->
 * test/fixtures/metrics/reference.json). Cases on ../shared images skip when ../shared is absent.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ImageU8 } from '../../src/engine/image';
import { readImageU8 } from '../../src/engine/metrics/io';
import {
  cropToMultiple,
  degradeU8,
  imresizeMatlab,
  loadNiqeParams,
  lrConsistency,
  niqe,
  niqeLuma,
  psnrY,
  resizeBicubicAA,
  resizeBicubicTorch,
  ssimY,
  u8ToBuf,
} from '../../src/engine/metrics';

const ROOT = path.resolve(__dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/metrics');
const SHARED = path.resolve(ROOT, '../shared');
const hasShared = existsSync(path.join(SHARED, 'data'));
const ref = JSON.parse(readFileSync(path.join(FIX, 'reference.json'), 'utf8'));
const sharedParamsFile = path.join(SHARED, 'data/metrics/niqe_pris_params.json');
const own = {
  own: loadNiqeParams(path.join(ROOT, 'models/niqe/niqe-params.json')),
  ownSmall: loadNiqeParams(path.join(ROOT, 'models/niqe/niqe-small-params.json')),
};

if (!hasShared) {
  console.warn(`[metrics-reference] ${SHARED} not found: skipping the cases on shared images (baboon NIQE, Set14, faces)`);
}

/** Exact integer [1 4 6 4 1]/16 separable blur, edges replicated, rounded half up (as metrics_ref.py). */
function blur5(img: ImageU8): ImageU8 {
  const { width: w, height: h, channels: c, data } = img;
  const k = [1, 4, 6, 4, 1];
  const tmp = new Int32Array(w * h * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let i = 0; i < 5; i++) s += k[i] * data[(y * w + Math.min(w - 1, Math.max(0, x + i - 2))) * c + ch];
        tmp[(y * w + x) * c + ch] = s;
      }
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let i = 0; i < 5; i++) s += k[i] * tmp[(Math.min(h - 1, Math.max(0, y + i - 2)) * w + x) * c + ch];
        out[(y * w + x) * c + ch] = Math.floor((s + 128) / 256);
      }
  return { width: w, height: h, channels: c, data: out };
}

describe('NIQE reference (BasicSR / MATLAB) on baboon.png', () => {
  it.skipIf(!hasShared)('scores 5.7296 within 0.01 with the shared MATLAB parameters', async () => {
    const img = await readImageU8(path.join(SHARED, 'data/metrics/baboon.png'));
    const v = niqe(img, loadNiqeParams(sharedParamsFile));
    expect(Math.abs(v - 5.7296)).toBeLessThan(0.01);
    expect(Math.abs(v - ref.baboonNiqe)).toBeLessThan(1e-6); // the float64 Python port
  });
});

for (const c of ref.cases as Record<string, any>[]) {
  const shared = c.source === 'shared';
  describe.skipIf(shared && !hasShared)(`reference case ${c.name}`, async () => {
    const file = shared ? path.join(SHARED, c.file) : path.join(FIX, c.file);
    const load = async () => {
      const hr = cropToMultiple(await readImageU8(file), c.scale);
      return { hr, blurred: blur5(hr) };
    };
    it('PSNR / SSIM on Y (border shaved by the scale, and not)', async () => {
      const { hr, blurred } = await load();
      expect(hr.width).toBe(c.width);
      expect(psnrY(blurred, hr, c.scale)).toBeCloseTo(c.psnr, 4);
      expect(ssimY(blurred, hr, c.scale)).toBeCloseTo(c.ssim, 4);
      expect(Math.abs(psnrY(blurred, hr, 0) - c.psnrShave0)).toBeLessThan(1e-4);
      expect(Math.abs(ssimY(blurred, hr, 0) - c.ssimShave0)).toBeLessThan(1e-4);
    });
    it('degradation (AA bicubic, uint8) and LR-consistency', async () => {
      const { hr, blurred } = await load();
      const lr = degradeU8(hr, c.scale);
      let sum = 0;
      for (const v of lr.data) sum += v;
      expect(Math.abs(sum - c.lrSum)).toBeLessThanOrEqual(2); // float32 (torch) vs float64 rounding ties
      let head = 0;
      c.lrHead.forEach((v: number, i: number) => (head = Math.max(head, Math.abs(v - lr.data[i]))));
      expect(head).toBeLessThanOrEqual(1);
      expect(Math.abs(lrConsistency(blurred, lr) - c.lrPsnr)).toBeLessThan(1e-3);
    });
    it('NIQE (shared params, our params, our small-block params)', async () => {
      const { hr, blurred } = await load();
      const imgs = { hr, blurred } as Record<string, ImageU8>;
      let n = 0;
      for (const label of ['hr', 'blurred']) {
        if (c[`niqeShared_${label}`] !== undefined && hasShared) {
          expect(Math.abs(niqe(imgs[label], loadNiqeParams(sharedParamsFile)) - c[`niqeShared_${label}`])).toBeLessThan(1e-3);
          n++;
        }
        for (const k of ['own', 'ownSmall'] as const) {
          if (c[`niqe_${k}_${label}`] === undefined) continue;
          expect(Math.abs(niqe(imgs[label], own[k]) - c[`niqe_${k}_${label}`])).toBeLessThan(1e-3);
          n++;
        }
      }
      expect(n).toBeGreaterThan(0);
    });
  });
}

describe('resamplers vs PyTorch / BasicSR', () => {
  it('antialiased bicubic downsampling matches torch (x4 and x3)', async () => {
    const syn = u8ToBuf(await readImageU8(path.join(FIX, 'synthetic.png')));
    for (const r of [ref.resizeAA, ref.resizeAA3]) {
      const d = resizeBicubicAA(syn, r.width, r.height);
      let m = 0;
      r.values.forEach((v: number, i: number) => (m = Math.max(m, Math.abs(v - d.data[i]))));
      expect(m).toBeLessThan(2e-6);
    }
  });
  it('plain bicubic upsampling (a = -0.75) matches torch', async () => {
    const syn = await readImageU8(path.join(FIX, 'synthetic.png'));
    const [x0, y0, w, h] = ref.resizeUp.crop;
    const crop = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) crop.set(syn.data.subarray(((y0 + y) * syn.width + x0) * 3, ((y0 + y) * syn.width + x0 + w) * 3), y * w * 3);
    const up = resizeBicubicTorch(u8ToBuf({ width: w, height: h, channels: 3, data: crop }), ref.resizeUp.width, ref.resizeUp.height);
    let m = 0;
    ref.resizeUp.values.forEach((v: number, i: number) => (m = Math.max(m, Math.abs(v - up.data[i]))));
    expect(m).toBeLessThan(2e-6);
  });
  it('MATLAB imresize 0.5 (NIQE second scale) matches the numpy port', async () => {
    const y = niqeLuma(await readImageU8(path.join(FIX, 'synthetic.png')));
    const half = imresizeMatlab({ width: y.width, height: y.height, channels: 1, data: y.data.map((v) => v / 255) }, 0.5);
    expect(half.width).toBe(ref.imresizeHalf.width);
    let s = 0;
    for (const v of half.data) s += v * 255;
    expect(Math.abs(s - ref.imresizeHalf.sum)).toBeLessThan(1e-6);
    ref.imresizeHalf.head.forEach((v: number, i: number) => expect(Math.abs(v - half.data[i] * 255)).toBeLessThan(1e-9));
  });
});
