/**
 * Bicubic resampling that matches PyTorch's `F.interpolate(mode='bicubic', align_corners=False)`:
 *
 * - antialias = false (the conditioning upsample): Keys cubic with a = −0.75, source coordinate
 *   src = (dst + 0.5)·in/out − 0.5 (not clamped), 4 taps at floor(src)−1 … floor(src)+2 with the
 *   indices clamped to the border (replicate).
 * - antialias = true (the degradation's downsample): PyTorch's PIL-style separable filter, cubic with
 *   a = −0.5 (as PIL), support 2·scale when shrinking (2 when enlarging), centre = scale·(i + 0.5),
 *   taps [int(centre − support + 0.5), int(centre + support + 0.5)) clipped to the image, weights
 *   normalised to sum 1.
 *
 * Both are separable: a table of taps per output column and per output row (`axisTaps`), then a
 * horizontal and a vertical pass. Tables are 1-D, so a window of a huge output can be computed
 * without the whole output (`sampleTapsCHW`, used for the per-tile conditioning).
 */
import type { ImageF32 } from '../image';

export interface AxisTaps {
  outSize: number;
  /** Taps per output position (fixed; unused taps have weight 0). */
  n: number;
  idx: Int32Array;
  w: Float64Array;
}

const A_UP = -0.75;
const A_AA = -0.5;

function cubic1(x: number, A: number) {
  return ((A + 2) * x - (A + 3)) * x * x + 1;
}
function cubic2(x: number, A: number) {
  return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}
/** Keys' cubic convolution kernel with parameter a (PyTorch: −0.75; PIL, antialiased PyTorch, MATLAB: −0.5). */
export function cubicA(x: number, a: number): number {
  const t = Math.abs(x);
  if (t <= 1) return cubic1(t, a);
  if (t < 2) return cubic2(t, a);
  return 0;
}

/** Tap table for one axis, `inSize` → `outSize`. */
export function axisTaps(inSize: number, outSize: number, antialias = false): AxisTaps {
  if (!(inSize >= 1 && outSize >= 1)) throw new RangeError(`bad resize ${inSize} -> ${outSize}`);
  const scale = inSize / outSize;
  if (!antialias) {
    const n = 4;
    const idx = new Int32Array(outSize * n);
    const w = new Float64Array(outSize * n);
    for (let i = 0; i < outSize; i++) {
      const src = scale * (i + 0.5) - 0.5;
      const f = Math.floor(src);
      const t = src - f;
      const ws = [cubic2(t + 1, A_UP), cubic1(t, A_UP), cubic1(1 - t, A_UP), cubic2(2 - t, A_UP)];
      for (let j = 0; j < 4; j++) {
        idx[i * n + j] = Math.min(inSize - 1, Math.max(0, f - 1 + j));
        w[i * n + j] = ws[j];
      }
    }
    return { outSize, n, idx, w };
  }
  const support = scale >= 1 ? 2 * scale : 2;
  const invscale = scale >= 1 ? 1 / scale : 1;
  const n = Math.ceil(support) * 2 + 1;
  const idx = new Int32Array(outSize * n);
  const w = new Float64Array(outSize * n);
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    const ws: number[] = [];
    for (let j = 0; j < xsize; j++) {
      const v = cubicA((j + xmin - center + 0.5) * invscale, A_AA);
      ws.push(v);
      total += v;
    }
    for (let j = 0; j < n; j++) {
      idx[i * n + j] = Math.min(inSize - 1, xmin + Math.min(j, Math.max(0, xsize - 1)));
      w[i * n + j] = j < xsize ? (total !== 0 ? ws[j] / total : 0) : 0;
    }
  }
  return { outSize, n, idx, w };
}

const tapCache = new Map<string, AxisTaps>();
/** axisTaps, memoised (the policy resizes every tile's x̂₀ with the same two tables at every decision). */
function cachedTaps(inSize: number, outSize: number, antialias: boolean): AxisTaps {
  const key = `${inSize}:${outSize}:${antialias ? 1 : 0}`;
  let t = tapCache.get(key);
  if (!t) {
    t = axisTaps(inSize, outSize, antialias);
    if (tapCache.size >= 64) tapCache.clear();
    tapCache.set(key, t);
  }
  return t;
}

/** Reused intermediate buffers for small resizes (JS is single-threaded; nothing here re-enters). */
const SCRATCH_MAX = 1 << 20;
let tmpScratch = new Float32Array(0);
let rowScratch = new Int32Array(0);

/*
 * The passes below compute every output value as 0 + Σ_j w_j·v_j over the axis's taps in table
 * order, in float64 — what a plain loop per output does — but four outputs at a time: four
 * independent sums (the adds of one sum form a dependency chain, so a lone sum waits on each add),
 * sharing each weight and index load. Each sum is still exactly its own sequence of operations.
 */

/**
 * Horizontal pass over `rowsN` contiguous rows `inW` long (a planar image's rows, all planes):
 * dst[r·outW + x] = Σ_j w[x,j]·src[r·inW + idx[x,j]], four rows at a time.
 */
function hRowsPlanar(src: Float32Array, rowsN: number, inW: number, dst: Float32Array, outW: number, t: AxisTaps): void {
  const { n, idx, w } = t;
  let r = 0;
  for (; r + 4 <= rowsN; r += 4) {
    const s0 = r * inW;
    const s1 = s0 + inW;
    const s2 = s1 + inW;
    const s3 = s2 + inW;
    const d0 = r * outW;
    for (let x = 0, b = 0; x < outW; x++, b += n) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let j = 0; j < n; j++) {
        const wj = w[b + j];
        const c = idx[b + j];
        a0 += wj * src[s0 + c];
        a1 += wj * src[s1 + c];
        a2 += wj * src[s2 + c];
        a3 += wj * src[s3 + c];
      }
      dst[d0 + x] = a0;
      dst[d0 + outW + x] = a1;
      dst[d0 + 2 * outW + x] = a2;
      dst[d0 + 3 * outW + x] = a3;
    }
  }
  for (; r < rowsN; r++) {
    const s0 = r * inW;
    for (let x = 0, b = 0; x < outW; x++, b += n) {
      let a = 0;
      for (let j = 0; j < n; j++) a += w[b + j] * src[s0 + idx[b + j]];
      dst[r * outW + x] = a;
    }
  }
}

/** Horizontal pass over interleaved rows (C channels per pixel), one output at a time. */
function hRowsInterleaved(src: Float32Array, rowsN: number, inW: number, C: number, dst: Float32Array, outW: number, t: AxisTaps): void {
  const { n, idx, w } = t;
  for (let r = 0; r < rowsN; r++)
    for (let c = 0; c < C; c++) {
      const s0 = r * inW * C + c;
      const d0 = r * outW * C + c;
      for (let x = 0, b = 0; x < outW; x++, b += n) {
        let a = 0;
        for (let j = 0; j < n; j++) a += w[b + j] * src[s0 + idx[b + j] * C];
        dst[d0 + x * C] = a;
      }
    }
}

/**
 * The vertical pass over one plane of rows `len` values long: dst row y = Σ_k w[y,k]·(src row
 * idx[y,k]), four columns at a time.
 */
function vPass(src: Float32Array, s0: number, dst: Float32Array, d0: number, len: number, outH: number, t: AxisTaps): void {
  const { n, idx, w } = t;
  if (rowScratch.length < n) rowScratch = new Int32Array(n);
  const rows = rowScratch;
  for (let y = 0, b = 0; y < outH; y++, b += n) {
    for (let k = 0; k < n; k++) rows[k] = s0 + idx[b + k] * len;
    const dr = d0 + y * len;
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let k = 0; k < n; k++) {
        const wk = w[b + k];
        const r = rows[k] + i;
        a0 += wk * src[r];
        a1 += wk * src[r + 1];
        a2 += wk * src[r + 2];
        a3 += wk * src[r + 3];
      }
      dst[dr + i] = a0;
      dst[dr + i + 1] = a1;
      dst[dr + i + 2] = a2;
      dst[dr + i + 3] = a3;
    }
    for (; i < len; i++) {
      let a = 0;
      for (let k = 0; k < n; k++) a += w[b + k] * src[rows[k] + i];
      dst[dr + i] = a;
    }
  }
}

/**
 * Resize a planar or interleaved float image. `layout` 'hwc' (channels interleaved) or 'chw' (planes).
 * Horizontal pass first, then vertical; float64 accumulation, float32 storage: every output value
 * is 0 + Σ_j w_j·v_j over the axis's taps in table order, rounded to float32 once per pass.
 */
export function resizeFloat(
  src: Float32Array,
  C: number,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
  layout: 'hwc' | 'chw',
  antialias = false,
  out?: Float32Array,
): Float32Array {
  const tx = cachedTaps(inW, outW, antialias);
  const ty = cachedTaps(inH, outH, antialias);
  const dst = out ?? new Float32Array(outW * outH * C);
  const tmpLen = outW * inH * C;
  let tmp: Float32Array;
  if (tmpLen <= SCRATCH_MAX) {
    if (tmpScratch.length < tmpLen) tmpScratch = new Float32Array(Math.max(tmpLen, 2 * tmpScratch.length));
    tmp = tmpScratch;
  } else tmp = new Float32Array(tmpLen);
  if (layout === 'chw') {
    hRowsPlanar(src, C * inH, inW, tmp, outW, tx);
    for (let c = 0; c < C; c++) vPass(tmp, c * inH * outW, dst, c * outH * outW, outW, outH, ty);
  } else {
    hRowsInterleaved(src, inH, inW, C, tmp, outW, tx);
    vPass(tmp, 0, dst, 0, outW * C, outH, ty);
  }
  return dst;
}

/** Bicubic resize of an RGB ImageF32 to w×h (PyTorch-compatible, see the file comment). Not clamped. */
export function bicubicResize(img: ImageF32, w: number, h: number, opts: { antialias?: boolean } = {}): ImageF32 {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new RangeError(`bad target size ${w}x${h}`);
  const data = resizeFloat(img.data, 3, img.width, img.height, w, h, 'hwc', !!opts.antialias);
  return { width: w, height: h, data };
}

/**
 * A window of the non-antialiased bicubic resize of an HWC image, written planar (CHW) into `out`
 * (3 × tileH × tileW). `xs[i]`/`ys[j]` are the output coordinates (0 ≤ xs[i] < tx.outSize) of tile
 * column i / row j, so the caller can map padded positions by reflection. Computes exactly what
 * `resizeFloat` computes at those pixels (same separable order and float32 intermediate), then
 * applies `a·v + b` and clamps to [lo, hi].
 */
export function sampleTapsCHW(
  src: Float32Array,
  inW: number,
  tx: AxisTaps,
  ty: AxisTaps,
  xs: Int32Array,
  ys: Int32Array,
  out: Float32Array,
  a = 1,
  b = 0,
  lo = -Infinity,
  hi = Infinity,
): void {
  const tw = xs.length;
  const th = ys.length;
  const plane = tw * th;
  const { n: nx, idx: ix, w: wx } = tx;
  const { n: ny, idx: iy, w: wy } = ty;
  // Horizontal pass once per source row the window needs (each row serves ~scale output rows).
  let rmin = Infinity;
  let rmax = -Infinity;
  for (let j = 0; j < th; j++)
    for (let k = 0; k < ny; k++) {
      const r = iy[ys[j] * ny + k];
      if (r < rmin) rmin = r;
      if (r > rmax) rmax = r;
    }
  const rows = rmax - rmin + 1;
  const rowLen = tw * 3;
  if (condScratch.length < rows * rowLen) condScratch = new Float32Array(rows * rowLen);
  const hrow = condScratch;
  for (let r = 0; r < rows; r++) {
    const base = (rmin + r) * inW * 3;
    for (let i = 0; i < tw; i++) {
      const xb = xs[i] * nx;
      let red = 0;
      let g = 0;
      let bl = 0;
      for (let t = 0; t < nx; t++) {
        const wt = wx[xb + t];
        const p = base + ix[xb + t] * 3;
        red += wt * src[p];
        g += wt * src[p + 1];
        bl += wt * src[p + 2];
      }
      const o = (r * tw + i) * 3;
      hrow[o] = red;
      hrow[o + 1] = g;
      hrow[o + 2] = bl;
    }
  }
  // Vertical: output row j = Σ_k wy[k]·(hrow row iy[k] − rmin), all 3·tw interleaved values of the row
  // at once (the three channels share the weights), four at a time as in vPass; then a·v + b, clamped,
  // written planar.
  if (condAcc.length < rowLen) condAcc = new Float64Array(rowLen);
  if (rowScratch.length < ny) rowScratch = new Int32Array(ny);
  const acc = condAcc;
  const rowOff = rowScratch;
  for (let j = 0; j < th; j++) {
    const yb = ys[j] * ny;
    for (let k = 0; k < ny; k++) rowOff[k] = (iy[yb + k] - rmin) * rowLen;
    let q = 0;
    for (; q + 4 <= rowLen; q += 4) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let k = 0; k < ny; k++) {
        const wt = wy[yb + k];
        const o = rowOff[k] + q;
        a0 += wt * hrow[o];
        a1 += wt * hrow[o + 1];
        a2 += wt * hrow[o + 2];
        a3 += wt * hrow[o + 3];
      }
      acc[q] = a0;
      acc[q + 1] = a1;
      acc[q + 2] = a2;
      acc[q + 3] = a3;
    }
    for (; q < rowLen; q++) {
      let v = 0;
      for (let k = 0; k < ny; k++) v += wy[yb + k] * hrow[rowOff[k] + q];
      acc[q] = v;
    }
    const p0 = j * tw;
    for (let i = 0; i < tw; i++) {
      const p = p0 + i;
      out[p] = clamp(a * Math.fround(acc[3 * i]) + b, lo, hi);
      out[plane + p] = clamp(a * Math.fround(acc[3 * i + 1]) + b, lo, hi);
      out[2 * plane + p] = clamp(a * Math.fround(acc[3 * i + 2]) + b, lo, hi);
    }
  }
}
let condScratch = new Float32Array(0);
let condAcc = new Float64Array(0);

function clamp(v: number, lo: number, hi: number) {
  return v < lo ? lo : v > hi ? hi : v;
}
