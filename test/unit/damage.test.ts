import { describe, expect, it } from 'vitest';
import { detectDamage, dilateMask, inpaintTelea, synthMask, applyDamage, fitMask, usableMask, maskPixels, resizeMaskNearest, emptyMask } from '../../src/engine/damage/index';
import type { ImageF32 } from '../../src/engine/image';

/** A smooth test picture: gradients and a low-frequency wave per channel. */
function smooth(W: number, H: number): ImageF32 {
  const d = new Float32Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const i = (y * W + x) * 3;
    d[i] = 0.2 + 0.5 * (x / W);
    d[i + 1] = 0.3 + 0.3 * Math.sin((y / H) * Math.PI);
    d[i + 2] = 0.25 + 0.2 * Math.cos(((x + y) / W) * 2);
  }
  return { width: W, height: H, data: d };
}
const maxErr = (a: ImageF32, b: ImageF32, m: Uint8Array) => {
  let e = 0;
  for (let i = 0; i < m.length; i++) if (m[i]) for (let c = 0; c < 3; c++) e = Math.max(e, Math.abs(a.data[i * 3 + c] - b.data[i * 3 + c]));
  return e;
};

describe('Telea inpainting', () => {
  it('fills a hole in a linear gradient almost exactly and leaves other pixels alone', () => {
    const W = 48, H = 40;
    const d = new Float32Array(W * H * 3);
    for (let i = 0; i < W * H; i++) { const x = i % W, y = Math.floor(i / W); d.fill(0.1 + 0.01 * x + 0.005 * y, i * 3, i * 3 + 3); }
    const clean = { width: W, height: H, data: d };
    const mask = emptyMask(W, H);
    for (let y = 15; y < 25; y++) for (let x = 10; x < 30; x++) mask.data[y * W + x] = 255;
    const damaged = applyDamage(clean, mask, 'blotches', 1);
    expect(maxErr(damaged, clean, mask.data)).toBeGreaterThan(0.2);
    const out = inpaintTelea(damaged, mask);
    expect(maxErr(out, clean, mask.data)).toBeLessThan(0.02);
    for (let i = 0; i < W * H; i++) if (!mask.data[i]) expect(out.data[i * 3]).toBe(damaged.data[i * 3]);
  });
  it('repairs synthetic scratches on a smooth picture far better than leaving them', () => {
    const img = smooth(96, 80);
    const m = synthMask(96, 80, 'scratches', 'large', 3);
    const dmg = applyDamage(img, m, 'scratches', 3);
    const out = inpaintTelea(dmg, m);
    expect(maxErr(out, img, m.data)).toBeLessThan(0.05);
    expect(maxErr(dmg, img, m.data)).toBeGreaterThan(0.3);
  });
  it('keeps the hue of a grainy sepia print with a bright halo round the mask (no blue or red streaks)', () => {
    const W = 64, H = 48;
    const d = new Float32Array(W * H * 3);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
    for (let i = 0; i < W * H; i++) { const g = 0.12 * rnd(); d[i * 3] = 0.35 + g + 0.03 * rnd(); d[i * 3 + 1] = 0.27 + g + 0.03 * rnd(); d[i * 3 + 2] = 0.1 + g + 0.03 * rnd(); }
    const mask = emptyMask(W, H);
    for (let x = 5; x < 59; x++) for (let y = 22; y < 26; y++) mask.data[y * W + x] = 255;
    // The scratch's soft edge, outside the mask: whitish.
    for (let x = 5; x < 59; x++) for (const y of [21, 26]) d.set([0.8, 0.78, 0.74], (y * W + x) * 3);
    const img = { width: W, height: H, data: d };
    const worst = (o: ImageF32) => { let m = Infinity; for (let i = 0; i < W * H; i++) if (mask.data[i]) m = Math.min(m, o.data[i * 3] - o.data[i * 3 + 2]); return m; };
    // Sepia: red above blue everywhere in the fill (the halo itself has R − B = 0.06).
    expect(worst(inpaintTelea(img, mask))).toBeGreaterThan(0.05);
    expect(worst(inpaintTelea(img, mask, { order: 0 }))).toBeGreaterThan(0.05);
    // Per-channel gradients, unclamped (the first version): hue flips to blue somewhere.
    expect(worst(inpaintTelea(img, mask, { greyGradient: false, clampRange: false }))).toBeLessThan(0.05);
  });
  it('leaves an image with an empty or full mask unchanged and refuses a mask of another size', () => {
    const img = smooth(16, 16);
    expect(inpaintTelea(img, emptyMask(16, 16)).data).toEqual(img.data);
    const full = emptyMask(16, 16); full.data.fill(255);
    expect(inpaintTelea(img, full).data).toEqual(img.data);
    expect(() => inpaintTelea(img, emptyMask(8, 16))).toThrow(/mask is 8×16/);
  });
});

describe('damage detector', () => {
  for (const kind of ['scratches', 'cracks'] as const) {
    it(`finds synthetic ${kind} on a smooth picture (recall ≥ 0.8, precision ≥ 0.6)`, () => {
      const img = smooth(128, 112);
      const m = synthMask(128, 112, kind, 'small', 7);
      const found = detectDamage(applyDamage(img, m, kind, 7));
      // The detector adds a 1-px rim on purpose: precision is counted against the truth dilated as much.
      const rim = dilateMask(m, 1);
      let tp = 0, hit = 0, fp = 0;
      for (let i = 0; i < m.data.length; i++) if (found.data[i]) { if (m.data[i]) tp++; if (rim.data[i]) hit++; else fp++; }
      expect(tp / maskPixels(m)).toBeGreaterThanOrEqual(0.8);
      expect(hit / (hit + fp)).toBeGreaterThanOrEqual(0.6);
    });
  }
  it('finds nothing on a clean smooth picture', () => {
    expect(maskPixels(detectDamage(smooth(96, 96)))).toBe(0);
  });
});

describe('mask rules', () => {
  it('keeps a same-size mask, resizes a same-shape one by nearest, refuses another shape', () => {
    const m = emptyMask(10, 5); m.data[0] = 255;
    expect(fitMask(m, 10, 5).resized).toBe(false);
    const r = fitMask(m, 20, 10);
    expect(r.resized).toBe(true);
    expect(maskPixels(r.mask)).toBe(4);
    expect(() => fitMask(m, 10, 10, 'm.png')).toThrow('m.png: the mask is 10×5 but the photo is 10×10 (a different shape)');
    expect(maskPixels(resizeMaskNearest(m, 5, 3))).toBeLessThanOrEqual(1);
  });
  it('an empty mask is nothing to do; a full one is an error', () => {
    expect(usableMask(emptyMask(4, 4))).toBeNull();
    const f = emptyMask(4, 4); f.data.fill(255);
    expect(() => usableMask(f, 'x.png')).toThrow('x.png: mask covers the whole photo');
  });
});
