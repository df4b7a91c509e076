/** Colour correction, grey handling and tile blending weights. */
import { describe, expect, it } from 'vitest';
import { colorCorrectCHW, greyTileCHW, toGreyImage } from '../../src/engine/diffusion/color';
import { GREY_TOLERANCE, isGrey, u8ToF32, type ImageU8 } from '../../src/engine/image';
import { Rng } from '../../src/engine/diffusion/rng';
import { accumulateTile, axisLayout, tileGrid } from '../../src/engine/diffusion/tiles';

const W = 96;
const H = 80;
const plane = W * H;

/** A textured colour test tile in [-1,1], CHW. */
function scene(): Float32Array {
  const x = new Float32Array(3 * plane);
  const rng = new Rng(3);
  for (let y = 0; y < H; y++)
    for (let i = 0; i < W; i++) {
      const p = y * W + i;
      const tex = 0.15 * Math.sin(i * 1.3) * Math.cos(y * 0.9) + 0.03 * rng.normal();
      x[p] = 0.4 * Math.sin(i / 30) + tex;
      x[plane + p] = 0.2 * Math.cos(y / 25) + tex;
      x[2 * plane + p] = -0.3 + 0.3 * Math.sin((i + y) / 40) + tex;
    }
  return x;
}
const chroma = (x: Float32Array, p: number) => {
  const r = x[p];
  const g = x[plane + p];
  const b = x[2 * plane + p];
  return [-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b, 0.299 * r + 0.587 * g + 0.114 * b];
};

describe('colour correction', () => {
  it('removes an injected low-frequency hue shift, keeps luma and chroma detail', () => {
    const cond = scene();
    const out = cond.slice();
    // hue drift: smooth shift towards magenta/green, varying slowly across the tile
    for (let y = 0; y < H; y++)
      for (let i = 0; i < W; i++) {
        const p = y * W + i;
        const d = 0.12 + 0.05 * Math.sin(i / 50);
        out[p] += d;
        out[plane + p] -= 0.8 * d;
        out[2 * plane + p] += d;
      }
    // genuine high-frequency chroma detail the model invented (must survive)
    for (let p = 0; p < plane; p++) out[p] += 0.05 * ((p % W) % 2 ? 1 : -1);
    const before = out.slice();
    colorCorrectCHW(out, cond, W, H, 8);
    let driftBefore = 0;
    let lumaChange = 0;
    let detailKept = 0;
    let detailRef = 0;
    for (let p = 0; p < plane; p++) {
      const c = chroma(cond, p);
      const b = chroma(before, p);
      const a = chroma(out, p);
      driftBefore += Math.abs(b[0] - c[0]) + Math.abs(b[1] - c[1]);
      lumaChange = Math.max(lumaChange, Math.abs(a[2] - b[2]));
    }
    // low-pass chroma difference: average over 8×8 blocks
    let lpBefore = 0;
    let lpAfter = 0;
    for (let by = 0; by < H; by += 8)
      for (let bx = 0; bx < W; bx += 8) {
        const acc = [0, 0, 0, 0];
        for (let y = by; y < by + 8; y++)
          for (let i = bx; i < bx + 8; i++) {
            const p = y * W + i;
            const c = chroma(cond, p);
            const b = chroma(before, p);
            const a = chroma(out, p);
            acc[0] += b[0] - c[0];
            acc[1] += b[1] - c[1];
            acc[2] += a[0] - c[0];
            acc[3] += a[1] - c[1];
          }
        lpBefore += Math.abs(acc[0] / 64) + Math.abs(acc[1] / 64);
        lpAfter += Math.abs(acc[2] / 64) + Math.abs(acc[3] / 64);
      }
    // the alternating column pattern in the output's chroma (high frequency) is kept
    for (let y = 0; y < H; y++)
      for (let i = 16; i < W - 16; i += 2) {
        const p = y * W + i;
        detailRef += Math.abs(chroma(before, p)[1] - chroma(before, p + 1)[1]);
        detailKept += Math.abs(chroma(out, p)[1] - chroma(out, p + 1)[1]);
      }
    expect(driftBefore).toBeGreaterThan(0);
    expect(lpAfter).toBeLessThan(0.08 * lpBefore);
    expect(lumaChange).toBeLessThan(1e-5);
    expect(detailKept / detailRef).toBeGreaterThan(0.9);
  });

  it('is the identity when output and cond already agree', () => {
    const cond = scene();
    const out = cond.slice();
    colorCorrectCHW(out, cond, W, H, 8);
    let m = 0;
    for (let i = 0; i < out.length; i++) m = Math.max(m, Math.abs(out[i] - Math.min(1, Math.max(-1, cond[i]))));
    expect(m).toBeLessThan(1e-6);
  });
});

describe('grey photos', () => {
  it('detects grey (with JPEG-like ±1 level noise) and refuses colour or sepia', () => {
    const n = 64 * 64;
    const rng = new Rng(1);
    const grey = new Float32Array(n * 3);
    const sepia = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const v = rng.uniform();
      grey[i * 3] = v;
      grey[i * 3 + 1] = Math.min(1, v + (i % 3 === 0 ? 1 / 255 : 0));
      grey[i * 3 + 2] = Math.max(0, v - (i % 5 === 0 ? 1 / 255 : 0));
      sepia[i * 3] = Math.min(1, v * 1.07);
      sepia[i * 3 + 1] = v * 0.74;
      sepia[i * 3 + 2] = v * 0.43;
    }
    expect(isGrey({ width: 64, height: 64, data: grey })).toBe(true);
    expect(isGrey({ width: 64, height: 64, data: sepia })).toBe(false);
    const g = toGreyImage({ width: 64, height: 64, data: sepia });
    let diff = 0;
    for (let i = 0; i < n; i++) diff += +(g.data[i * 3] !== g.data[i * 3 + 2]);
    expect(diff).toBe(0);
    expect(isGrey(g)).toBe(true);
  });

  it('greyTileCHW writes luma to all three planes', () => {
    const x = scene();
    greyTileCHW(x, plane);
    for (let p = 0; p < plane; p += 97) {
      expect(x[p]).toBe(x[plane + p]);
      expect(x[p]).toBe(x[2 * plane + p]);
    }
  });

  it('one verdict for 8-bit pixels and their floats: channels within GREY_TOLERANCE levels, one outlier forgiven', () => {
    const make = (d: number, outliers: number, channels = 3): ImageU8 => {
      const n = 40 * 30;
      const data = new Uint8Array(n * channels);
      for (let i = 0; i < n; i++) {
        const v = 20 + ((i * 37) % 200);
        data[i * channels] = v;
        data[i * channels + 1] = v + (i < outliers ? 9 : i % 2 ? d : 0);
        data[i * channels + 2] = v;
        if (channels === 4) data[i * channels + 3] = 255;
      }
      return { width: 40, height: 30, channels, data };
    };
    for (const [d, outliers, want] of [[GREY_TOLERANCE, 0, true], [GREY_TOLERANCE + 1, 0, false], [0, 1, true], [0, 2, false], [1, 1, true]] as const) {
      expect(isGrey(make(d, outliers)), `Δ ${d}, ${outliers} outliers`).toBe(want);
      expect(isGrey(u8ToF32(make(d, outliers))), `float Δ ${d}, ${outliers} outliers`).toBe(want);
      expect(isGrey(make(d, outliers, 4)), `RGBA Δ ${d}, ${outliers} outliers`).toBe(want);
    }
    expect(isGrey({ width: 2, height: 1, channels: 1, data: Uint8Array.of(3, 200) })).toBe(true);
  });
});

describe('tile layout and blending weights', () => {
  it.each([
    [300, 64, 16, 4],
    [64, 64, 16, 4],
    [50, 64, 16, 4],
    [129, 128, 32, 8],
    [1000, 128, 32, 8],
  ])('size %i, tile %i, overlap %i: covers the axis, partition of unity, smooth', (size, tile, ov, mult) => {
    const a = axisLayout(size, tile, ov, mult);
    expect(a.len % mult).toBe(0);
    expect(a.len).toBeLessThanOrEqual(Math.max(tile, 0));
    expect(a.starts[0]).toBe(0);
    if (size > tile) expect(a.starts[a.starts.length - 1] + a.len).toBe(size);
    const sum = new Float64Array(size);
    a.starts.forEach((s, t) => {
      for (let i = 0; i < a.len && s + i < size; i++) sum[s + i] += a.weights[t][i];
    });
    for (let i = 0; i < size; i++) expect(sum[i]).toBeCloseTo(1, 6);
    // no hard steps inside a tile's weight: raised-cosine ramps over ≥ overlap pixels
    for (const w of a.weights) for (let i = 1; i < Math.min(a.len, size); i++) expect(Math.abs(w[i] - w[i - 1])).toBeLessThan(2 / Math.max(ov, 1));
  });

  it('accumulating a constant from every tile gives the constant everywhere', () => {
    const g = tileGrid(150, 97, { size: 64, overlap: 16, multiple: 4 });
    const out = new Float32Array(150 * 97 * 3);
    const tile = new Float32Array(3 * g.x.len * g.y.len).fill(0.2); // 0.2 in [-1,1] → 0.6
    for (let t = 0; t < g.count; t++) accumulateTile(g, t, tile, out);
    let m = 0;
    for (const v of out) m = Math.max(m, Math.abs(v - 0.6));
    expect(m).toBeLessThan(1e-6);
  });
});

describe('blur', () => {
  it('three box filters approximate a Gaussian of the asked σ (variance of an impulse response)', async () => {
    const { blurPlane } = await import('../../src/engine/diffusion/color');
    for (const sigma of [2, 5, 8, 16]) {
      const n = 257;
      const p = new Float32Array(n * n);
      p[128 * n + 128] = 1;
      blurPlane(p, n, n, sigma, new Float32Array(n * n));
      let s = 0;
      let vx = 0;
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++) {
          s += p[y * n + x];
          vx += p[y * n + x] * (x - 128) ** 2;
        }
      expect(s).toBeCloseTo(1, 5);
      expect(Math.sqrt(vx / s) / sigma).toBeGreaterThan(0.9);
      expect(Math.sqrt(vx / s) / sigma).toBeLessThan(1.1);
    }
  });
});
