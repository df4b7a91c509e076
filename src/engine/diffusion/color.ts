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
 * Grey photos stay grey: an input whose channels agree within a small tolerance is processed as
 * luminance replicated to three channels and every output tile is written back as its luma.
 */
import type { ImageF32 } from '../image';

/** True when R, G and B agree within `tol` on all but a fraction `frac` of the pixels. */
export function isGrey(img: ImageF32, tol = 3 / 255, frac = 0.001): boolean {
  const d = img.data;
  const n = img.width * img.height;
  let bad = 0;
  const limit = Math.floor(n * frac);
  for (let i = 0; i < n; i++) {
    const r = d[i * 3];
    const g = d[i * 3 + 1];
    const b = d[i * 3 + 2];
    if (Math.abs(r - g) > tol || Math.abs(g - b) > tol || Math.abs(r - b) > tol) {
      if (++bad > limit) return false;
    }
  }
  return true;
}

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

/** Running-sum box filter of radius r along rows (dx = 1) or columns, replicated borders. */
function boxPass(src: Float32Array, dst: Float32Array, w: number, h: number, r: number, horizontal: boolean): void {
  const len = horizontal ? w : h;
  const lines = horizontal ? h : w;
  const step = horizontal ? 1 : w;
  const lineStep = horizontal ? w : 1;
  const inv = 1 / (2 * r + 1);
  const last = len - 1;
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    let acc = 0;
    for (let j = -r; j <= r; j++) acc += src[base + (j < 0 ? 0 : j > last ? last : j) * step];
    for (let i = 0; i < len; i++) {
      dst[base + i * step] = acc * inv;
      const add = i + r + 1;
      const sub = i - r;
      acc += src[base + (add > last ? last : add) * step] - src[base + (sub < 0 ? 0 : sub) * step];
    }
  }
}

/**
 * Gaussian-like blur of one w×h plane in place: three box filters per axis (O(1) per pixel whatever
 * σ), replicated borders. `tmp` ≥ w·h.
 */
export function blurPlane(p: Float32Array, w: number, h: number, sigma: number, tmp: Float32Array): void {
  if (sigma <= 0) return;
  for (const r of boxRadiiForGauss(sigma)) {
    if (r <= 0) continue;
    boxPass(p, tmp, w, h, r, true);
    boxPass(tmp, p, w, h, r, false);
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
  const dCb = new Float32Array(plane);
  const dCr = new Float32Array(plane);
  const tmp = new Float32Array(plane);
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

function clamp(v: number, lo: number, hi: number) {
  return v < lo ? lo : v > hi ? hi : v;
}
