/**
 * MS-SSIM and GMSD (src/engine/metrics/fullref.ts) vs the independent numpy/scipy port of the papers'
 * MATLAB code (training/metrics_ref.py -> test/fixtures/metrics/reference.json), plus properties.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ImageU8 } from '../../src/engine/image';
import { readImageU8 } from '../../src/engine/metrics/io';
import { cropToMultiple, gmsdPlanes, gmsdY, msssimPlanes, msssimY, rgbToY } from '../../src/engine/metrics';

const ROOT = path.resolve(__dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/metrics');
const SHARED = path.resolve(ROOT, '../shared');
const hasShared = existsSync(path.join(SHARED, 'data'));
const ref = JSON.parse(readFileSync(path.join(FIX, 'reference.json'), 'utf8'));

/** Same [1 4 6 4 1]/16 blur as metrics_ref.py's blur5. */
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

/** metrics_ref.py's hashed_noise: a deterministic ±amp pattern. */
function hashedNoise(img: ImageU8, amp: number): ImageU8 {
  const { width: w, height: h, channels: c } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        const n = (((x * 7919 + y * 104729 + ch * 15485863) % 2003) / 2002) * 2 - 1;
        const i = (y * w + x) * c + ch;
        out[i] = Math.min(255, Math.max(0, img.data[i] + Math.round(n * amp)));
      }
  return { width: w, height: h, channels: c, data: out };
}

const cases = [...(ref.cases as Record<string, any>[]), ...(ref.perceptualCases as Record<string, any>[])];
for (const c of cases) {
  const shared = c.source === 'shared';
  describe.skipIf(shared && !hasShared)(`MS-SSIM / GMSD reference case ${c.name}`, () => {
    it('blurred and noisy vs HR match the Python port to 1e-9', async () => {
      const hr = cropToMultiple(await readImageU8(shared ? path.join(SHARED, c.file) : path.join(FIX, c.file)), c.scale);
      const bl = blur5(hr);
      expect(Math.abs(gmsdY(bl, hr, c.scale) - c.gmsd)).toBeLessThan(1e-9);
      expect(Math.abs(gmsdY(bl, hr, 0) - c.gmsdShave0)).toBeLessThan(1e-9);
      if (c.msssim !== undefined) {
        expect(Math.abs(msssimY(bl, hr, c.scale) - c.msssim)).toBeLessThan(1e-9);
        expect(Math.abs(msssimY(bl, hr, 0) - c.msssimShave0)).toBeLessThan(1e-9);
      } else {
        expect(() => msssimY(bl, hr, c.scale)).toThrow(/too small for MS-SSIM/);
      }
      for (const amp of [12, 24]) {
        const noisy = hashedNoise(hr, amp);
        expect(Math.abs(gmsdY(noisy, hr, 0) - c[`gmsdNoise${amp}`])).toBeLessThan(1e-9);
        if (c[`msssimNoise${amp}`] !== undefined) expect(Math.abs(msssimY(noisy, hr, 0) - c[`msssimNoise${amp}`])).toBeLessThan(1e-9);
      }
    });
  });
}

describe('MS-SSIM / GMSD properties', () => {
  it('identical images: MS-SSIM 1, GMSD 0; worse with more noise; offsets and contrast as the port', async () => {
    const p = ref.perceptualCases[0];
    const img = await readImageU8(path.join(FIX, p.file));
    expect(msssimY(img, img)).toBeCloseTo(1, 12);
    expect(gmsdY(img, img)).toBe(0);
    let lastM = 1;
    let lastG = 0;
    for (const amp of [4, 8, 16, 32, 64]) {
      const n = hashedNoise(img, amp);
      const m = msssimY(n, img);
      const g = gmsdY(n, img);
      expect(m).toBeLessThan(lastM);
      expect(g).toBeGreaterThan(lastG);
      lastM = m;
      lastG = g;
    }
    const y = rgbToY(img);
    const off = { ...y, data: y.data.map((v) => v + 10) };
    expect(Math.abs(msssimPlanes(off, y) - p.msssimOffset10)).toBeLessThan(1e-9);
    expect(gmsdPlanes(off, y)).toBeLessThan(0.02); // a flat offset barely moves gradients (zero-padded edges do)
    const con = { ...y, data: y.data.map((v) => (v - 128) * 0.5 + 128) };
    expect(Math.abs(gmsdPlanes(con, y) - p.gmsdContrast)).toBeLessThan(1e-9);
  });
});
