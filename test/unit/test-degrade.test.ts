import { describe, expect, it } from 'vitest';
import { degradeForTest, describeTestDegradation, gaussianBlurHWC, gaussianTaps, parseTestDegradation, TEST_DEGRADATIONS } from '../../src/engine/metrics/test-degrade';
import { degradeU8, psnrY } from '../../src/engine/metrics';
import type { ImageU8 } from '../../src/engine/image';

/** A deterministic 96×80 test picture: gradients, a disc and fine stripes. */
function picture(): ImageU8 {
  const w = 96;
  const h = 80;
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const disc = (x - 48) ** 2 + (y - 40) ** 2 < 400;
      d[i] = disc ? 220 : (x * 255) / w;
      d[i + 1] = (y * 255) / h;
      d[i + 2] = x % 4 < 2 ? 200 : 40;
    }
  return { width: w, height: h, channels: 3, data: d };
}

describe('test degradations (bench --degrade)', () => {
  it('bicubic is the paper protocol exactly', async () => {
    const hr = picture();
    const { lr, cleanLr } = await degradeForTest(hr, 4, TEST_DEGRADATIONS.bicubic, 1);
    expect(Buffer.from(lr.data).equals(Buffer.from(degradeU8(hr, 4).data))).toBe(true);
    expect(cleanLr).toBe(lr);
  });

  it('same seed, same bytes; another seed, other noise', async () => {
    const hr = picture();
    const d = parseTestDegradation('real:medium');
    const a = await degradeForTest(hr, 4, d, 7);
    const b = await degradeForTest(hr, 4, d, 7);
    const c = await degradeForTest(hr, 4, d, 8);
    expect(a.lr.width).toBe(24);
    expect(a.lr.height).toBe(20);
    expect(Buffer.from(a.lr.data).equals(Buffer.from(b.lr.data))).toBe(true);
    expect(Buffer.from(a.lr.data).equals(Buffer.from(c.lr.data))).toBe(false);
  });

  it('light → medium → heavy moves the LR further from the clean LR', async () => {
    const hr = picture();
    const clean = degradeU8(hr, 2);
    const p = [];
    for (const n of ['real:light', 'real:medium', 'real:heavy']) p.push(psnrY((await degradeForTest(hr, 2, parseTestDegradation(n), 3)).lr, clean, 0));
    expect(p[0]).toBeGreaterThan(p[1]);
    expect(p[1]).toBeGreaterThan(p[2]);
    expect(p[2]).toBeGreaterThan(10);
  });

  it('the noise has the stated σ on a flat picture, and JPEG q 60 then removes some of it', async () => {
    const flat: ImageU8 = { width: 256, height: 256, channels: 3, data: new Uint8Array(256 * 256 * 3).fill(128) };
    const sdOf = (lr: ImageU8) => {
      let s = 0;
      let s2 = 0;
      const n = lr.data.length / 3;
      for (let i = 1; i < lr.data.length; i += 3) {
        s += lr.data[i];
        s2 += lr.data[i] ** 2;
      }
      return Math.sqrt(s2 / n - (s / n) ** 2);
    };
    const medium = parseTestDegradation('real:medium');
    const noJpeg = sdOf((await degradeForTest(flat, 2, { ...medium, jpeg: 0 }, 5)).lr);
    const withJpeg = sdOf((await degradeForTest(flat, 2, medium, 5)).lr);
    expect(noJpeg).toBeGreaterThan(7.7);
    expect(noJpeg).toBeLessThan(8.3);
    expect(withJpeg).toBeLessThan(noJpeg * 0.8);
    expect(withJpeg).toBeGreaterThan(1);
  });

  it('Gaussian blur: normalised taps, constant images unchanged, energy of a spike spread', () => {
    const k = gaussianTaps(1.2);
    expect(k.length).toBe(2 * Math.ceil(3.6) + 1);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const flat = new Float64Array(10 * 8 * 3).fill(0.4);
    for (const v of gaussianBlurHWC(flat, 10, 8, 3, 1.5)) expect(v).toBeCloseTo(0.4, 12);
    const spike = new Float64Array(15 * 15);
    spike[7 * 15 + 7] = 1;
    const b = gaussianBlurHWC(spike, 15, 15, 1, 1);
    expect(b[7 * 15 + 7]).toBeLessThan(0.2);
    expect(b.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 9);
  });

  it('unknown names are refused with the list; descriptions print every parameter', () => {
    expect(() => parseTestDegradation('real:extreme')).toThrow(/unknown degradation "real:extreme" \(bicubic, real:light, real:medium, real:heavy\)/);
    expect(describeTestDegradation(TEST_DEGRADATIONS['real:medium'], 4)).toBe(
      'real:medium: Gaussian blur σ 1.2 (HR px), antialiased bicubic ÷4, colour Gaussian noise σ 8/255 (seed per image), JPEG q 60 (4:2:0)',
    );
  });
});
