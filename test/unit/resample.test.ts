/**
 * Centre-aligned classic resampling (src/engine/resample.ts): constants stay constant, the picture does
 * not move (the sharp/libvips enlargement it replaces sat half an output pixel off), bicubic equals the
 * PyTorch-exact bicubic used for conditioning, and shrinking antialiases.
 */
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { resampleU8, resizeU8, lineTaps } from '../../src/engine/resample';
import { resizeBicubicTorch } from '../../src/engine/metrics/resize';
import type { ImageU8 } from '../../src/engine/image';

function pattern(w: number, h: number, c = 3): ImageU8 {
  const d = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) d[(y * w + x) * c + k] = Math.round(127.5 + 100 * Math.sin(0.31 * x + 0.17 * y + k) * Math.cos(0.23 * y - 0.11 * x));
  return { width: w, height: h, channels: c, data: d };
}

/** Output-pixel shift that best aligns `up` (×s) with `src` under the centre convention (bilinear probe). */
function bestShift(src: ImageU8, up: ImageU8, s: number): number {
  let best = 0;
  let bestE = Infinity;
  for (let sh = -1; sh <= 1; sh += 0.125) {
    let e = 0;
    for (let y = 6; y < src.height - 6; y++)
      for (let x = 6; x < src.width - 6; x++) {
        const X = s * (x + 0.5) - 0.5 + sh;
        const Y = s * (y + 0.5) - 0.5 + sh;
        const x0 = Math.floor(X), y0 = Math.floor(Y), fx = X - x0, fy = Y - y0;
        const g = (xx: number, yy: number) => up.data[(yy * up.width + xx) * 3 + 1];
        const v = (g(x0, y0) * (1 - fx) + g(x0 + 1, y0) * fx) * (1 - fy) + (g(x0, y0 + 1) * (1 - fx) + g(x0 + 1, y0 + 1) * fx) * fy;
        e += (v - src.data[(y * src.width + x) * 3 + 1]) ** 2;
      }
    if (e < bestE) [bestE, best] = [e, sh];
  }
  return best;
}

describe('centre-aligned resampling', () => {
  it('keeps a constant image constant, up and down, any channel count', () => {
    for (const c of [1, 3, 4]) {
      const img: ImageU8 = { width: 13, height: 9, channels: c, data: new Uint8Array(13 * 9 * c).fill(77) };
      for (const [w, h] of [[52, 36], [26, 18], [5, 4], [13, 9]]) {
        const out = resizeU8(img, w, h, 'lanczos3');
        expect(out).toMatchObject({ width: w, height: h, channels: c });
        expect(out.data.every((v) => v === 77)).toBe(true);
      }
    }
  });

  it('does not move the picture when enlarging (sharp/libvips does, by half an output pixel)', async () => {
    const src = pattern(48, 40);
    for (const s of [2, 4]) {
      expect(bestShift(src, resizeU8(src, 48 * s, 40 * s, 'lanczos3'), s)).toBe(0);
      expect(bestShift(src, resizeU8(src, 48 * s, 40 * s, 'bicubic'), s)).toBe(0);
      const { data } = await sharp(Buffer.from(src.data), { raw: { width: 48, height: 40, channels: 3 } }).resize(48 * s, 40 * s, { kernel: 'lanczos3', fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
      expect(bestShift(src, { width: 48 * s, height: 40 * s, channels: 3, data: new Uint8Array(data) }, s)).toBe(0.5);
    }
  });

  it('bicubic enlargement equals the PyTorch-exact bicubic (a = −0.75, align_corners=False) within rounding', () => {
    const src = pattern(20, 17);
    const ours = resizeU8(src, 80, 68, 'bicubic');
    const ref = resizeBicubicTorch({ width: 20, height: 17, channels: 3, data: Float64Array.from(src.data) }, 80, 68);
    let worst = 0;
    for (let i = 0; i < ours.data.length; i++) worst = Math.max(worst, Math.abs(ours.data[i] - Math.min(255, Math.max(0, Math.round(ref.data[i])))));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('shrinking stretches the kernel (antialias): a pixel-level checkerboard becomes flat grey', () => {
    const d = new Uint8Array(64 * 64);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) d[y * 64 + x] = (x + y) % 2 ? 255 : 0;
    const out = resizeU8({ width: 64, height: 64, channels: 1, data: d }, 16, 16, 'lanczos3');
    for (const v of out.data.subarray(16 * 4, 16 * 12)) expect(Math.abs(v - 127.5)).toBeLessThan(4);
    const t = lineTaps(64, 16, 'lanczos3');
    expect(t.n).toBeGreaterThanOrEqual(24); // 2 × 3 lobes × 4
  });

  it('rejects a bad size', () => {
    expect(() => resizeU8(pattern(4, 4), 0, 4)).toThrow(/bad output size/);
  });
});

describe("'auto' picks a natural package that can reach the scale", () => {
  it('served scales, scales reached by ×4 passes and a downscale, and Lanczos when none can', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { resolveMethod } = await import('../../src/engine/restore');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auto-'));
    const src = path.resolve(__dirname, '../fixtures/models/tiny-x4');
    const pkg = path.join(dir, 'only-x4');
    fs.mkdirSync(pkg);
    for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(pkg, f));
    const card = JSON.parse(fs.readFileSync(path.join(pkg, 'card.json'), 'utf8'));
    card.id = 'only-x4';
    card.scales = [4];
    card.primaryScale = 4;
    fs.writeFileSync(path.join(pkg, 'card.json'), JSON.stringify(card));
    for (const s of [2, 4, 8]) expect(await resolveMethod('auto', s, [dir])).toBe('only-x4');
    expect(await resolveMethod('auto', 3, [dir])).toBe('lanczos');
    expect(await resolveMethod('auto', 4, [path.join(dir, 'none')])).toBe('lanczos');
    expect(await resolveMethod('bicubic', 4, [dir])).toBe('bicubic');
  });
});

describe('strips', () => {
  it('the strip size does not change a single byte (up and down)', () => {
    const src = pattern(37, 29);
    for (const [w, h] of [[148, 116], [74, 58], [12, 9]]) {
      const a = resizeU8(src, w, h, 'lanczos3', 1);
      const b = resizeU8(src, w, h, 'lanczos3', 7);
      const c = resizeU8(src, w, h, 'lanczos3', 10_000);
      expect(Buffer.from(a.data).equals(Buffer.from(c.data))).toBe(true);
      expect(Buffer.from(b.data).equals(Buffer.from(c.data))).toBe(true);
    }
  });

  it('resampleU8 is the classic methods: lanczos = Lanczos-3 (the default), bicubic = the Keys cubic', () => {
    const src = pattern(23, 19);
    expect(resampleU8(src, 69, 57).data).toEqual(resizeU8(src, 69, 57, 'lanczos3').data);
    expect(resampleU8(src, 69, 57, 'lanczos').data).toEqual(resizeU8(src, 69, 57, 'lanczos3').data);
    expect(resampleU8(src, 69, 57, 'bicubic').data).toEqual(resizeU8(src, 69, 57, 'bicubic').data);
    expect(resampleU8(src, 69, 57, 'bicubic').data).not.toEqual(resampleU8(src, 69, 57, 'lanczos').data);
  });
});
