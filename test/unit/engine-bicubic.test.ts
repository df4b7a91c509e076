/** Bicubic resampling vs PyTorch reference numbers (test/fixtures/bicubic/cases.json, written by the training code). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { axisTaps, bicubicResize, resizeFloat, sampleTapsCHW } from '../../src/engine/diffusion/bicubic';
import { reflectIndex } from '../../src/engine/diffusion/tiles';

const fx = JSON.parse(readFileSync(new URL('../fixtures/bicubic/cases.json', import.meta.url), 'utf8'));

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>) {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
const chwToHwc = (d: ArrayLike<number>, C: number, H: number, W: number) => {
  const o = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) o[(y * W + x) * C + c] = d[(c * H + y) * W + x];
  return o;
};

describe('bicubic vs PyTorch', () => {
  const rows: [string, number, { op: string; scale?: number; size?: number[]; antialias: boolean; shape: number[]; data: number[] }][] = [];
  fx.cases.forEach((c: { ops: never[] }, i: number) => c.ops.forEach((op: { op: string; antialias: boolean; shape: number[] }) => rows.push([`case ${i} ${op.op} aa=${op.antialias} -> ${op.shape.join('x')}`, i, op as never])));

  it.each(rows)('%s', (_name, i, op) => {
    const c = fx.cases[i];
    const [C, H, W] = c.shape;
    const [, oh, ow] = op.shape;
    const out = resizeFloat(Float32Array.from(c.input), C, W, H, ow, oh, 'chw', op.antialias);
    expect(maxDiff(out, op.data)).toBeLessThan(1e-5);
    // the interleaved (HWC) public function agrees
    const hwc = bicubicResize({ width: W, height: H, data: chwToHwc(c.input, C, H, W) }, ow, oh, { antialias: op.antialias });
    expect(maxDiff(hwc.data, chwToHwc(op.data, C, oh, ow))).toBeLessThan(1e-5);
  });

  it.each(fx.pipelines.map((p: { scale: number }, i: number) => [p.scale, i]))('training pipeline ×%i: LR uint8 and cond match', (_s, i) => {
    const p = fx.pipelines[i];
    const [C, H, W] = p.hr_shape;
    const [, h, w] = p.lr_shape;
    const hr = Float32Array.from(p.hr_uint8 as number[], (v) => v / 255);
    const lrF = resizeFloat(hr, C, W, H, w, h, 'chw', true);
    const lr = Array.from(lrF, (v) => Math.min(255, Math.max(0, Math.round(v * 255))));
    let off = 0;
    for (let k = 0; k < lr.length; k++) off = Math.max(off, Math.abs(lr[k] - p.lr_uint8[k]));
    expect(off).toBeLessThanOrEqual(1);
    // cond as the engine makes it: the upsample of LR in [0,1], mapped by 2v − 1, clamped (per tile window)
    const lrHwc = chwToHwc(Float32Array.from(p.lr_uint8 as number[], (v) => v / 255), C, h, w);
    const out = new Float32Array(C * H * W);
    sampleTapsCHW(lrHwc, w, axisTaps(w, W), axisTaps(h, H), Int32Array.from({ length: W }, (_, x) => x), Int32Array.from({ length: H }, (_, y) => y), out, 2, -1, -1, 1);
    expect(maxDiff(out, p.cond)).toBeLessThan(1e-5);
  });
});

describe('tile windows of the conditioning', () => {
  it('a window (with reflected padding) equals the same pixels of the full resize', () => {
    const w = 9;
    const h = 7;
    const lr = new Float32Array(w * h * 3).map((_, i) => ((i * 37) % 101) / 100);
    const W = w * 4;
    const H = h * 4;
    const full = bicubicResize({ width: w, height: h, data: lr }, W, H);
    const xs = Int32Array.from({ length: 20 }, (_, i) => reflectIndex(24 + i, W)); // runs past the right edge
    const ys = Int32Array.from({ length: 12 }, (_, j) => reflectIndex(10 + j, H));
    const out = new Float32Array(3 * 20 * 12);
    sampleTapsCHW(lr, w, axisTaps(w, W), axisTaps(h, H), xs, ys, out);
    let m = 0;
    for (let c = 0; c < 3; c++)
      for (let j = 0; j < 12; j++)
        for (let i = 0; i < 20; i++) m = Math.max(m, Math.abs(out[(c * 12 + j) * 20 + i] - full.data[(ys[j] * W + xs[i]) * 3 + c]));
    expect(m).toBe(0);
    expect(reflectIndex(W, W)).toBe(W - 2);
    expect(reflectIndex(-1, W)).toBe(1);
  });

  it('a constant image stays constant (weights sum to 1), both kernels', () => {
    const img = { width: 5, height: 4, data: new Float32Array(60).fill(0.37) };
    for (const [ww, hh, aa] of [[20, 16, false], [3, 2, true], [11, 9, true]] as const) {
      const r = bicubicResize(img, ww, hh, { antialias: aa });
      expect(maxDiff(r.data, new Float32Array(ww * hh * 3).fill(0.37))).toBeLessThan(1e-6);
    }
  });
});
