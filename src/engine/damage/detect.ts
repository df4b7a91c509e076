/**
 * Classical damage detector for scans of old prints: thin bright or dark scratches and cracks, and
 * dust specks. Pure TS on the luminance of an RGB float image; returns a binary mask.
 *
 *  1. Line response (multi-scale, oriented): at each pixel and each of `orientations` directions,
 *     the mean along a short line through the pixel minus the means along the two parallel lines
 *     `offset` pixels to either side; the smaller of the two differences (a ridge must stand out
 *     from *both* sides, so a step edge scores ~0), maximised over directions and scales. Bright
 *     and dark lines separately (signs).
 *  2. Thresholds relative to the image's own response statistics (median + k·1.4826·MAD, with an
 *     absolute floor), hysteresis (weak pixels kept when connected to strong ones).
 *  3. Components: line components must be long enough (bounding-box extent); short blobs are kept
 *     only as dust: small, isolated and far from the local median (a 5×5 median outlier test).
 *  4. A 1-pixel dilation (the inpainting needs the damage's soft rim too).
 */
import type { ImageF32 } from '../image';
import { dilateMask, luminance, type Mask } from './mask';
import { median } from '../stats';

export interface DetectOptions {
  /** Line scales: half-length of the line and the offset of the side lines, in pixels. */
  scales?: { half: number; offset: number }[];
  orientations?: number;
  /** Strong / weak thresholds in robust σ of the response. */
  kHigh?: number;
  kLow?: number;
  /** Absolute floor of the strong threshold (luminance units, 0..1). */
  minContrast?: number;
  /** A line component must extend at least this far (px). */
  minLength?: number;
  /** Dust: components of at most this many pixels with a median-outlier of at least `dustContrast`. */
  dustMaxArea?: number;
  dustContrast?: number;
  /** Which lines to look for (default both). */
  polarity?: 'bright' | 'dark' | 'both';
  dilate?: number;
}

export const DETECT_DEFAULTS: Required<DetectOptions> = {
  scales: [
    { half: 4, offset: 2 },
    { half: 7, offset: 3 },
  ],
  orientations: 12,
  kHigh: 7,
  kLow: 3.5,
  minContrast: 0.06,
  minLength: 10,
  dustMaxArea: 40,
  dustContrast: 0.14,
  polarity: 'both',
  dilate: 1,
};

/** Oriented ridge response (bright > 0 and dark > 0 in two planes) of a luminance plane. */
export function lineResponse(L: Float32Array, W: number, H: number, o: Pick<Required<DetectOptions>, 'scales' | 'orientations'>): { bright: Float32Array; dark: Float32Array } {
  const n = W * H;
  const bright = new Float32Array(n);
  const dark = new Float32Array(n);
  const at = (x: number, y: number) => {
    x = x < 0 ? 0 : x >= W ? W - 1 : x;
    y = y < 0 ? 0 : y >= H ? H - 1 : y;
    return L[y * W + x];
  };
  for (const { half, offset } of o.scales) {
    for (let k = 0; k < o.orientations; k++) {
      const th = (Math.PI * k) / o.orientations;
      const dx = Math.cos(th), dy = Math.sin(th);
      // Integer sample offsets along the line and the two side lines (normal = (−dy, dx)).
      const len = 2 * half + 1;
      const ox = new Int32Array(len), oy = new Int32Array(len);
      for (let t = -half; t <= half; t++) {
        ox[t + half] = Math.round(t * dx);
        oy[t + half] = Math.round(t * dy);
      }
      const nx = Math.round(-dy * offset), ny = Math.round(dx * offset);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          let c = 0, a = 0, b = 0;
          for (let t = 0; t < len; t++) {
            const X = x + ox[t], Y = y + oy[t];
            c += at(X, Y);
            a += at(X + nx, Y + ny);
            b += at(X - nx, Y - ny);
          }
          c /= len; a /= len; b /= len;
          const i = y * W + x;
          const rb = Math.min(c - a, c - b);
          const rd = Math.min(a - c, b - c);
          if (rb > bright[i]) bright[i] = rb;
          if (rd > dark[i]) dark[i] = rd;
        }
      }
    }
  }
  return { bright, dark };
}

/** Median and robust σ (1.4826·MAD) of a sample of the values (every `step`-th). */
export function robustStats(v: Float32Array, step = 1): { median: number; sigma: number } {
  const s: number[] = [];
  for (let i = 0; i < v.length; i += step) s.push(v[i]);
  if (!s.length) return { median: 0, sigma: 0 };
  const med = median(s, 'upper');
  return { median: med, sigma: 1.4826 * median(s.map((x) => Math.abs(x - med)), 'upper') };
}

/** 8-connected components of the non-zero pixels of `m`: labels (0 = none) and per-label stats. */
export function components(m: Uint8Array, W: number, H: number): { labels: Int32Array; stats: { area: number; x0: number; y0: number; x1: number; y1: number }[] } {
  const labels = new Int32Array(W * H);
  const stats: { area: number; x0: number; y0: number; x1: number; y1: number }[] = [{ area: 0, x0: 0, y0: 0, x1: 0, y1: 0 }];
  const stack: number[] = [];
  for (let i = 0; i < W * H; i++) {
    if (!m[i] || labels[i]) continue;
    const id = stats.length;
    const st = { area: 0, x0: W, y0: H, x1: -1, y1: -1 };
    stats.push(st);
    labels[i] = id;
    stack.push(i);
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % W, y = (p - x) / W;
      st.area++;
      if (x < st.x0) st.x0 = x;
      if (x > st.x1) st.x1 = x;
      if (y < st.y0) st.y0 = y;
      if (y > st.y1) st.y1 = y;
      for (let j = -1; j <= 1; j++) {
        const yy = y + j;
        if (yy < 0 || yy >= H) continue;
        for (let k = -1; k <= 1; k++) {
          const xx = x + k;
          if (xx < 0 || xx >= W) continue;
          const q = yy * W + xx;
          if (m[q] && !labels[q]) {
            labels[q] = id;
            stack.push(q);
          }
        }
      }
    }
  }
  return { labels, stats };
}

/** L − median₅ₓ₅(L) per pixel (signed). */
export function medianOutlier(L: Float32Array, W: number, H: number): Float32Array {
  const out = new Float32Array(W * H);
  const win = new Float32Array(25);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let k = 0;
      for (let j = -2; j <= 2; j++) {
        const yy = y + j < 0 ? 0 : y + j >= H ? H - 1 : y + j;
        for (let i = -2; i <= 2; i++) {
          const xx = x + i < 0 ? 0 : x + i >= W ? W - 1 : x + i;
          win[k++] = L[yy * W + xx];
        }
      }
      win.sort();
      out[y * W + x] = L[y * W + x] - win[12];
    }
  }
  return out;
}

/** Hysteresis: weak pixels connected (8-neighbours) to a strong one. */
function hysteresis(strong: Uint8Array, weak: Uint8Array, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H);
  const stack: number[] = [];
  for (let i = 0; i < W * H; i++) if (strong[i]) { out[i] = 1; stack.push(i); }
  while (stack.length) {
    const p = stack.pop()!;
    const x = p % W, y = (p - x) / W;
    for (let j = -1; j <= 1; j++) for (let k = -1; k <= 1; k++) {
      const xx = x + k, yy = y + j;
      if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
      const q = yy * W + xx;
      if (weak[q] && !out[q]) { out[q] = 1; stack.push(q); }
    }
  }
  return out;
}

/** The damage mask of `img` (same size, 255 = damaged). */
export function detectDamage(img: ImageF32, options: DetectOptions = {}): Mask {
  const o = { ...DETECT_DEFAULTS, ...options };
  const { width: W, height: H } = img;
  const L = luminance(img);
  const { bright, dark } = lineResponse(L, W, H, o);
  const step = Math.max(1, Math.floor((W * H) / 200_000));
  const keep = new Uint8Array(W * H);
  const outl = medianOutlier(L, W, H);
  const planes = o.polarity === 'both' ? [bright, dark] : o.polarity === 'bright' ? [bright] : [dark];
  for (const R of planes) {
    const sign = R === bright ? 1 : -1;
    const { median, sigma } = robustStats(R, step);
    const hi = Math.max(o.minContrast, median + o.kHigh * sigma);
    const lo = Math.max(o.minContrast * 0.5, median + o.kLow * sigma);
    const strong = new Uint8Array(W * H);
    const weak = new Uint8Array(W * H);
    // A line pixel itself stands out from its 5×5 median (a thin line does not move the median);
    // its neighbours, which the line response also lights up, do not.
    for (let i = 0; i < W * H; i++) {
      const own = sign * outl[i] >= 0.5 * R[i];
      if (R[i] >= hi && own) strong[i] = 1;
      if (R[i] >= lo && own) weak[i] = 1;
    }
    const cand = hysteresis(strong, weak, W, H);
    const { labels, stats } = components(cand, W, H);
    // Per component: the largest median outlier (dust must be a real outlier, not texture).
    const peak = new Float32Array(stats.length);
    for (let i = 0; i < W * H; i++) if (labels[i] && sign * outl[i] > peak[labels[i]]) peak[labels[i]] = sign * outl[i];
    const ok = stats.map((s, id) => {
      if (id === 0) return false;
      const ext = Math.max(s.x1 - s.x0 + 1, s.y1 - s.y0 + 1);
      if (ext >= o.minLength) return true;
      return s.area <= o.dustMaxArea && peak[id] >= o.dustContrast;
    });
    for (let i = 0; i < W * H; i++) if (ok[labels[i]]) keep[i] = 255;
  }
  // Dust specks the line response misses (round, wider than a line): strong isolated median outliers.
  const dust = new Uint8Array(W * H);
  for (let i = 0; i < W * H; i++) if (Math.abs(outl[i]) >= o.dustContrast * 1.5) dust[i] = 1;
  const dc = components(dust, W, H);
  for (let i = 0; i < W * H; i++) {
    const id = dc.labels[i];
    if (id && dc.stats[id].area <= o.dustMaxArea / 2) keep[i] = 255;
  }
  return dilateMask({ width: W, height: H, data: keep }, o.dilate);
}
