/**
 * Colour handling of the diffusion output (DESIGN §1.7).
 *
 * Hue drift (an SR3 complaint): the sampler may shift the low-frequency colour. We correct it per
 * tile, before blending, in BT.601 full-range YCbCr: the output keeps its luma Y untouched and its
 * chroma *detail*, but its low-pass chroma is replaced by the conditioning input's:
 *     Cb' = Cb_out − G_σ(Cb_out) + G_σ(Cb_cond)      (same for Cr)
 * where G_σ is a Gaussian low-pass (three box filters) with σ = 2·scale output pixels (the LR pixel is `scale` output
 * pixels wide; the cond's colour is trustworthy below the LR Nyquist, the model's above it). By
 * linearity only the chroma difference is blurred, and the YCbCr change maps back to RGB as
 * R += 1.402·dCr, G −= 0.344136·dCb + 0.714136·dCr, B += 1.772·dCb. Luma is not touched: the
 * model's luma is already tied to the input, and changing it would undo detail. Tiles overlap and
 * are blended with a smooth window, so the per-tile blur borders (replicated edges, identical for
 * both terms) leave no seam.
 *
 * Grey photos stay grey: an input whose channels agree within a small tolerance (isGrey, image.ts) is
 * processed as luminance replicated to three channels and every output tile is written back as its luma.
 */
import type { ImageF32 } from '../image';

/** Luma (BT.601) replicated to three channels. */
export function toGreyImage(img: ImageF32): ImageF32 {
  const d = img.data;
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i += 3) {
    const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    out[i] = y;
    out[i + 1] = y;
    out[i + 2] = y;
  }
  return { width: img.width, height: img.height, data: out };
}

/** In place: each pixel of a CHW tile becomes its BT.601 luma on all three planes. */
export function greyTileCHW(x: Float32Array, plane: number): void {
  for (let p = 0; p < plane; p++) {
    const y = 0.299 * x[p] + 0.587 * x[plane + p] + 0.114 * x[2 * plane + p];
    x[p] = y;
    x[plane + p] = y;
    x[2 * plane + p] = y;
  }
}

/**
 * Box radii whose three successive box filters approximate a Gaussian of std σ (Kovesi, "Fast
 * almost-Gaussian filtering"): widths wl = largest odd ≤ sqrt(12σ²/3 + 1), some boxes one step wider.
 */
export function boxRadiiForGauss(sigma: number, n = 3): number[] {
  const wIdeal = Math.sqrt((12 * sigma * sigma) / n + 1);
  let wl = Math.floor(wIdeal);
  if (wl % 2 === 0) wl--;
  const wu = wl + 2;
  const mIdeal = (12 * sigma * sigma - n * wl * wl - 4 * n * wl - 3 * n) / (-4 * wl - 4);
  const m = Math.round(mIdeal);
  return Array.from({ length: n }, (_, i) => ((i < m ? wl : wu) - 1) / 2);
}

/**
 * Running-sum box filters of radius r, replicated borders. Per line: acc = Σ_{j=−r…r} v[clamp(j)] (in
 * that order), then for each i: out[i] = acc·inv and acc += v[clamp(i+r+1)] − v[clamp(i−r)], in
 * float64. Several lines run side by side (independent sums: one running sum is a chain of dependent
 * adds), each with exactly its own operations in its own order.
 */
function boxH(src: Float32Array, dst: Float32Array, w: number, h: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  const last = w - 1;
  let l = 0;
  for (; l + 4 <= h; l += 4) {
    const b0 = l * w;
    const b1 = b0 + w;
    const b2 = b1 + w;
    const b3 = b2 + w;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let j = -r; j <= r; j++) {
      const q = j < 0 ? 0 : j > last ? last : j;
      a0 += src[b0 + q];
      a1 += src[b1 + q];
      a2 += src[b2 + q];
      a3 += src[b3 + q];
    }
    for (let i = 0; i < w; i++) {
      dst[b0 + i] = a0 * inv;
      dst[b1 + i] = a1 * inv;
      dst[b2 + i] = a2 * inv;
      dst[b3 + i] = a3 * inv;
      const add = i + r + 1;
      const sub = i - r;
      const qa = add > last ? last : add;
      const qs = sub < 0 ? 0 : sub;
      a0 += src[b0 + qa] - src[b0 + qs];
      a1 += src[b1 + qa] - src[b1 + qs];
      a2 += src[b2 + qa] - src[b2 + qs];
      a3 += src[b3 + qa] - src[b3 + qs];
    }
  }
  for (; l < h; l++) {
    const base = l * w;
    let acc = 0;
    for (let j = -r; j <= r; j++) acc += src[base + (j < 0 ? 0 : j > last ? last : j)];
    for (let i = 0; i < w; i++) {
      dst[base + i] = acc * inv;
      const add = i + r + 1;
      const sub = i - r;
      acc += src[base + (add > last ? last : add)] - src[base + (sub < 0 ? 0 : sub)];
    }
  }
}

/** The vertical filter: all columns at once, row by row, one running sum per column (as boxH). */
function boxV(src: Float32Array, dst: Float32Array, w: number, h: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  const last = h - 1;
  if (colAcc.length < w) colAcc = new Float64Array(w);
  const acc = colAcc;
  acc.fill(0, 0, w);
  for (let j = -r; j <= r; j++) {
    const row = (j < 0 ? 0 : j > last ? last : j) * w;
    for (let x = 0; x < w; x++) acc[x] += src[row + x];
  }
  for (let i = 0; i < h; i++) {
    const o = i * w;
    for (let x = 0; x < w; x++) dst[o + x] = acc[x] * inv;
    const add = i + r + 1;
    const sub = i - r;
    const ra = (add > last ? last : add) * w;
    const rs = (sub < 0 ? 0 : sub) * w;
    for (let x = 0; x < w; x++) acc[x] += src[ra + x] - src[rs + x];
  }
}
let colAcc = new Float64Array(0);

/**
 * Gaussian-like blur of one w×h plane in place: three box filters per axis (O(1) per pixel whatever
 * σ), replicated borders. `tmp` ≥ w·h.
 */
export function blurPlane(p: Float32Array, w: number, h: number, sigma: number, tmp: Float32Array): void {
  if (sigma <= 0) return;
  for (const r of boxRadiiForGauss(sigma)) {
    if (r <= 0) continue;
    boxH(p, tmp, w, h, r);
    boxV(tmp, p, w, h, r);
  }
}

/**
 * Colour correction of one CHW tile in place (see the file comment): replace the low-pass chroma of
 * `out` by that of `cond` (both in the same value range, e.g. [-1,1]); result clamped to [lo, hi].
 */
export function colorCorrectCHW(
  out: Float32Array,
  cond: Float32Array,
  w: number,
  h: number,
  sigma: number,
  lo = -1,
  hi = 1,
): void {
  const plane = w * h;
  if (ccScratch.length < 3 * plane) ccScratch = new Float32Array(3 * plane);
  const dCb = ccScratch.subarray(0, plane);
  const dCr = ccScratch.subarray(plane, 2 * plane);
  const tmp = ccScratch.subarray(2 * plane, 3 * plane);
  for (let p = 0; p < plane; p++) {
    const r = cond[p] - out[p];
    const g = cond[plane + p] - out[plane + p];
    const b = cond[2 * plane + p] - out[2 * plane + p];
    dCb[p] = -0.168736 * r - 0.331264 * g + 0.5 * b;
    dCr[p] = 0.5 * r - 0.418688 * g - 0.081312 * b;
  }
  blurPlane(dCb, w, h, sigma, tmp);
  blurPlane(dCr, w, h, sigma, tmp);
  for (let p = 0; p < plane; p++) {
    const cb = dCb[p];
    const cr = dCr[p];
    out[p] = clamp(out[p] + 1.402 * cr, lo, hi);
    out[plane + p] = clamp(out[plane + p] - 0.344136 * cb - 0.714136 * cr, lo, hi);
    out[2 * plane + p] = clamp(out[2 * plane + p] + 1.772 * cb, lo, hi);
  }
}

/** Chroma-difference planes and blur buffer of colorCorrectCHW, reused across tiles (no re-entry). */
let ccScratch = new Float32Array(0);

function clamp(v: number, lo: number, hi: number) {
  return v < lo ? lo : v > hi ? hi : v;
}
