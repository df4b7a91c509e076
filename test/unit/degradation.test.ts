/** Blind degradation estimates (src/engine/degradation.ts) on images of known degradation. */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import sharp from 'sharp';
import type { ImageU8 } from '../../src/engine/image';
import { readImageU8 } from '../../src/engine/metrics/io';
import { estimateBlur, estimateJpegQuality, estimateNoiseSigma, ijgTable, jpegQuantTables } from '../../src/engine/degradation';

const SYN = path.resolve(__dirname, '../fixtures/metrics/synthetic-ms.png');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A smooth colour picture (gradients, a soft disc) with grey Gaussian noise of σ levels. */
function smoothNoisy(sigma: number, seed = 1, w = 256, h = 192): ImageU8 {
  const r = rng(seed);
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const u = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
      const disc = Math.hypot(x - 120, y - 90) < 50 ? 40 : 0;
      const base = [60 + (x / w) * 120 + disc, 80 + (y / h) * 100, 120 + disc / 2];
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(base[c] + sigma * u)));
    }
  return { width: w, height: h, channels: 3, data };
}

describe('noise', () => {
  it('recovers a known σ within 15 % (and ~0 for a clean picture)', () => {
    expect(estimateNoiseSigma(smoothNoisy(0))).toBeLessThan(1);
    for (const s of [3, 6, 12]) {
      const est = estimateNoiseSigma(smoothNoisy(s, s));
      expect(Math.abs(est - s) / s).toBeLessThan(0.15);
    }
  });
});

describe('JPEG quality from the quantisation tables', () => {
  it('sharp JPEGs at q 30/60/90 are estimated within ±5; PNG is null; IJG tables at q 50 are the standard', async () => {
    const img = await readImageU8(SYN);
    const raw = sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } });
    for (const q of [30, 60, 90]) {
      const jpg = new Uint8Array(await raw.clone().jpeg({ quality: q }).toBuffer());
      const e = estimateJpegQuality(jpg, `q${q}.jpg`)!;
      expect(Math.abs(e.quality - q)).toBeLessThanOrEqual(5);
      expect(jpegQuantTables(jpg)!.size).toBeGreaterThanOrEqual(1);
    }
    const png = new Uint8Array(await raw.clone().png().toBuffer());
    expect(estimateJpegQuality(png)).toBeNull();
    expect(ijgTable(50).slice(0, 4)).toEqual([16, 11, 10, 16]);
    expect(() => estimateJpegQuality(new Uint8Array([0xff, 0xd8, 0xff, 0xdb, 0x00, 0x90, 0]), 'cut.jpg')).toThrow(/cut\.jpg: corrupt JPEG/);
  });
});

describe('blur', () => {
  it('a blurred image scores blurrier, more blur more so', async () => {
    const img = await readImageU8(SYN);
    const raw = () => sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } });
    const blurred = async (s: number) => {
      const { data, info } = await raw().blur(s).raw().toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) } as ImageU8;
    };
    const b0 = estimateBlur(img);
    const b1 = estimateBlur(await blurred(1));
    const b2 = estimateBlur(await blurred(2.5));
    expect(b1).toBeGreaterThan(b0);
    expect(b2).toBeGreaterThan(b1);
  });
});
