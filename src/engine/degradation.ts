/**
 * Blind degradation estimates for one photo (issue 15 item 4): noise level, JPEG quality from the
 * file's quantisation tables, and blur. Pure functions on 8-bit images and file bytes.
 */
import type { ImageU8 } from './image';
import { rgbToY, type Plane } from './metrics/color';

/**
 * Noise σ in 8-bit levels on Y: Immerkær's fast estimate (1996), σ = √(π/2) / (6 N) Σ |I ∗ M| with
 * M = [1 -2 1; -2 4 -2; 1 -2 1], summed only over flat pixels (Tai & Yang 2008: the 10 % of pixels with
 * the largest Sobel gradient are edges and left out), so texture counts less as noise.
 */
export function estimateNoiseSigma(img: ImageU8): number {
  return noiseSigmaPlane(rgbToY(img));
}

export function noiseSigmaPlane(p: Plane): number {
  const { width: w, height: h, data: d } = p;
  if (w < 3 || h < 3) throw new Error(`image ${w}x${h} too small to estimate noise`);
  const n = (w - 2) * (h - 2);
  const lap = new Float64Array(n);
  const grad = new Float64Array(n);
  let k = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const a = d[i - w - 1], b = d[i - w], c = d[i - w + 1];
      const l = d[i - 1], m = d[i], r = d[i + 1];
      const e = d[i + w - 1], f = d[i + w], g = d[i + w + 1];
      lap[k] = Math.abs(a - 2 * b + c - 2 * l + 4 * m - 2 * r + e - 2 * f + g);
      const gx = c + 2 * r + g - a - 2 * l - e;
      const gy = e + 2 * f + g - a - 2 * b - c;
      grad[k++] = Math.abs(gx) + Math.abs(gy);
    }
  }
  const sorted = Float64Array.from(grad).sort();
  const edge = sorted[Math.floor(0.9 * (n - 1))];
  let s = 0;
  let cnt = 0;
  for (let i = 0; i < n; i++) {
    if (grad[i] <= edge) {
      s += lap[i];
      cnt++;
    }
  }
  return cnt ? (Math.sqrt(Math.PI / 2) * s) / (6 * cnt) : 0;
}

/** IJG's standard luminance quantisation table (ITU-T T.81 Annex K.1), natural (row-major) order. */
const STD_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
/** Zig-zag position k -> natural index. */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57,
  50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/** The quantisation tables of a JPEG (DQT segments before the first SOS), natural order, by table id; null if not a JPEG. */
export function jpegQuantTables(bytes: Uint8Array, file = 'input'): Map<number, number[]> | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  const tables = new Map<number, number[]>();
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) throw new Error(`${file}: corrupt JPEG (no marker at byte ${i})`);
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // EOI / SOS: tables come before the scan
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = (bytes[i + 2] << 8) | bytes[i + 3];
    const end = i + 2 + len;
    if (len < 2 || end > bytes.length) throw new Error(`${file}: corrupt JPEG (segment 0x${marker.toString(16)} at byte ${i} runs past the end)`);
    if (marker === 0xdb) {
      let j = i + 4;
      while (j < end) {
        const pq = bytes[j] >> 4;
        const id = bytes[j] & 15;
        j++;
        const t = new Array<number>(64);
        for (let z = 0; z < 64; z++) {
          t[ZIGZAG[z]] = pq ? (bytes[j] << 8) | bytes[j + 1] : bytes[j];
          j += pq ? 2 : 1;
        }
        if (j > end) throw new Error(`${file}: corrupt JPEG (DQT table ${id} truncated)`);
        tables.set(id, t);
      }
    }
    i = end;
  }
  return tables;
}

/** IJG's scaling of the standard table for quality q (1..100), baseline-clamped to 1..255. */
export function ijgTable(q: number): number[] {
  const s = q < 50 ? 5000 / q : 200 - 2 * q;
  return STD_LUMA.map((v) => Math.min(255, Math.max(1, Math.floor((v * s + 50) / 100))));
}

/**
 * IJG quality (1..100) whose scaled standard luminance table is closest (sum of absolute differences)
 * to the file's table 0, and the mean absolute mismatch per entry (0 for an IJG/libjpeg encoder;
 * large for cameras with their own tables, where the quality is only a rough equivalent). Null for a
 * file that is not a JPEG.
 */
export function estimateJpegQuality(bytes: Uint8Array, file = 'input'): { quality: number; mismatch: number } | null {
  const tables = jpegQuantTables(bytes, file);
  if (!tables) return null;
  const t = tables.get(0);
  if (!t) throw new Error(`${file}: JPEG without a luminance quantisation table`);
  let best = { quality: 0, err: Infinity };
  for (let q = 1; q <= 100; q++) {
    const ref = ijgTable(q);
    let e = 0;
    for (let k = 0; k < 64; k++) e += Math.abs(ref[k] - t[k]);
    if (e < best.err) best = { quality: q, err: e };
  }
  return { quality: best.quality, mismatch: best.err / 64 };
}

/**
 * Blur in [0, 1] on Y (Crété-Roffet et al. 2007, "The blur effect"): reblur with a 9-tap average,
 * compare neighbour differences before and after; 0 = sharp, 1 = already as blurred as the reblur.
 * The larger of the horizontal and vertical values.
 */
export function estimateBlur(img: ImageU8): number {
  const { width: w, height: h, data: d } = rgbToY(img);
  if (w < 10 || h < 10) throw new Error(`image ${w}x${h} too small to estimate blur`);
  const dir = (horizontal: boolean) => {
    const b = new Float64Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let t = -4; t <= 4; t++) {
          const xx = horizontal ? Math.min(w - 1, Math.max(0, x + t)) : x;
          const yy = horizontal ? y : Math.min(h - 1, Math.max(0, y + t));
          s += d[yy * w + xx];
        }
        b[y * w + x] = s / 9;
      }
    let sF = 0;
    let sV = 0;
    for (let y = horizontal ? 0 : 1; y < h; y++)
      for (let x = horizontal ? 1 : 0; x < w; x++) {
        const i = y * w + x;
        const j = horizontal ? i - 1 : i - w;
        const dF = Math.abs(d[i] - d[j]);
        const dB = Math.abs(b[i] - b[j]);
        sF += dF;
        sV += Math.max(0, dF - dB);
      }
    return sF > 0 ? (sF - sV) / sF : 1;
  };
  return Math.max(dir(true), dir(false));
}

/**
 * Colour spread in 8-bit levels: the RMS of each pixel's chroma (BT.601 Cb, Cr) around its best linear
 * prediction from luma (least squares over the photo). A grey or one-tint picture (sepia, cyanotype, a toned
 * print: chroma ∝ brightness) is ≈ 0–3, whatever the tint and contrast; a colour photo is well above.
 */
export function estimateTintSpread(img: ImageU8): number {
  const { width: w, height: h, data: d } = img;
  const ch = d.length / (w * h);
  if (ch < 3) return 0;
  const n = w * h;
  let sy = 0, sb = 0, sr = 0, syy = 0, sbb = 0, srr = 0, syb = 0, syr = 0;
  for (let i = 0; i < n; i++) {
    const r = d[i * ch];
    const g = d[i * ch + 1];
    const b = d[i * ch + 2];
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    const cb = -0.168736 * r - 0.331264 * g + 0.5 * b;
    const cr = 0.5 * r - 0.418688 * g - 0.081312 * b;
    sy += y; sb += cb; sr += cr;
    syy += y * y; sbb += cb * cb; srr += cr * cr;
    syb += y * cb; syr += y * cr;
  }
  const vy = syy / n - (sy / n) ** 2;
  const vb = sbb / n - (sb / n) ** 2;
  const vr = srr / n - (sr / n) ** 2;
  const cyb = syb / n - (sy / n) * (sb / n);
  const cyr = syr / n - (sy / n) * (sr / n);
  const resid = vy > 1e-9 ? vb - (cyb * cyb) / vy + (vr - (cyr * cyr) / vy) : vb + vr;
  return Math.sqrt(Math.max(0, resid));
}

export interface DegradationEstimate {
  /** Noise σ in 8-bit levels (Y). */
  noise: number;
  /** IJG-equivalent JPEG quality, null for a lossless file. */
  jpegQuality: number | null;
  /** 0 = sharp .. 1 = blurred. */
  blur: number;
  /** Colour spread around the mean tint (estimateTintSpread): small for grey and sepia/one-tint prints. */
  tint: number;
}

/** All three estimates; `bytes` are the file's (for the JPEG tables). */
export function estimateDegradation(img: ImageU8, bytes: Uint8Array, file = 'input'): DegradationEstimate {
  return { noise: estimateNoiseSigma(img), jpegQuality: estimateJpegQuality(bytes, file)?.quality ?? null, blur: estimateBlur(img), tint: estimateTintSpread(img) };
}

/** Colour spread below which a photo counts as one tint (grey, sepia, toned): an old print or scan. */
export const ONE_TINT_SPREAD = 6.0;

/**
 * Whether `auto` treats the photo as degraded, and why. A JPEG below quality 90 is degraded; so is a grey or
 * one-tint picture (colour spread < ONE_TINT_SPREAD), which among our sets is mostly an old print or scan:
 * 23 of the 25 grey or sepia photos of real/old are under it (the others 7.1 and 8.3, both JPEG q 85; the 3
 * colour processes 7.3–11.8), and 5 of 44 clean pictures (Set14 and B100 LRs, real/lowres): the two grey ones
 * (bridge, man) and three pale colour ones (3.9–4.7; the next is 6.4) — bench/README-auto.md. 6 rather than 4
 * because the lossless scan portrait_sepia_scratched_01 (5.67) otherwise gets the bicubic model, which turns its
 * grain into texture (bench/results/old28-natural-x4-vs-natural-real-x4.jpg). Noise and blur estimates overlap
 * between clean LRs and old photos, so they are recorded, not used.
 */
export function autoDegraded(e: DegradationEstimate): { degraded: boolean; reason: string } {
  if (e.jpegQuality !== null && e.jpegQuality < 90) return { degraded: true, reason: `JPEG quality ~${e.jpegQuality} (< 90)` };
  const file = e.jpegQuality === null ? 'lossless file' : `JPEG quality ~${e.jpegQuality} (>= 90)`;
  if (e.tint < ONE_TINT_SPREAD) return { degraded: true, reason: `${file}, one tint (grey or sepia: colour spread ${e.tint.toFixed(1)} < ${ONE_TINT_SPREAD}), taken for an old print` };
  return { degraded: false, reason: file };
}
