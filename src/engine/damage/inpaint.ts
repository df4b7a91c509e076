/**
 * Classical inpainting: Telea's fast marching method (A. Telea, "An Image Inpainting Technique
 * Based on the Fast Marching Method", J. Graphics Tools 9(1), 2004), as OpenCV's INPAINT_TELEA.
 *
 * The damaged region is filled from its boundary inwards in order of the distance T to the
 * boundary (the FMM solves |∇T| = 1). Each pixel, when the front reaches it, becomes a weighted
 * mean of the first-order estimates I(q) + ∇I(q)·(p − q) over known pixels q within `radius`,
 * weighted by direction (alignment of p − q with ∇T), distance (1/|p − q|²) and level-set
 * closeness (1/(1 + |T(p) − T(q)|)).
 */
import type { ImageF32 } from '../image';
import type { Mask } from './mask';

const KNOWN = 0;
const BAND = 1;
const INSIDE = 2;

/** Binary min-heap of pixel indices keyed by T (ties: insertion order, so results are deterministic). */
class Heap {
  private idx: Int32Array;
  private key: Float64Array;
  private seq: Float64Array;
  private n = 0;
  private counter = 0;
  constructor(cap: number) {
    this.idx = new Int32Array(cap);
    this.key = new Float64Array(cap);
    this.seq = new Float64Array(cap);
  }
  get size() {
    return this.n;
  }
  private less(a: number, b: number) {
    return this.key[a] < this.key[b] || (this.key[a] === this.key[b] && this.seq[a] < this.seq[b]);
  }
  private swap(a: number, b: number) {
    const i = this.idx[a], k = this.key[a], s = this.seq[a];
    this.idx[a] = this.idx[b]; this.key[a] = this.key[b]; this.seq[a] = this.seq[b];
    this.idx[b] = i; this.key[b] = k; this.seq[b] = s;
  }
  push(i: number, k: number) {
    if (this.n === this.idx.length) {
      const grow = (a: Int32Array | Float64Array) => { const b = new (a.constructor as typeof Float64Array)(a.length * 2); b.set(a); return b; };
      this.idx = grow(this.idx) as unknown as Int32Array;
      this.key = grow(this.key) as Float64Array;
      this.seq = grow(this.seq) as Float64Array;
    }
    let c = this.n++;
    this.idx[c] = i; this.key[c] = k; this.seq[c] = this.counter++;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (!this.less(c, p)) break;
      this.swap(c, p);
      c = p;
    }
  }
  pop(): number {
    const top = this.idx[0];
    this.n--;
    if (this.n > 0) {
      this.idx[0] = this.idx[this.n]; this.key[0] = this.key[this.n]; this.seq[0] = this.seq[this.n];
      let c = 0;
      for (;;) {
        const l = 2 * c + 1, r = l + 1;
        let m = c;
        if (l < this.n && this.less(l, m)) m = l;
        if (r < this.n && this.less(r, m)) m = r;
        if (m === c) break;
        this.swap(c, m);
        c = m;
      }
    }
    return top;
  }
}

/** Eikonal update from two neighbours along different axes (Telea's solve()). */
function solve(T: Float64Array, f: Uint8Array, a: number, b: number): number {
  const ta = f[a] !== INSIDE ? T[a] : Infinity;
  const tb = f[b] !== INSIDE ? T[b] : Infinity;
  if (ta < Infinity && tb < Infinity) {
    const d = ta - tb;
    const r = 2 - d * d;
    if (r > 0) {
      const s = (ta + tb + Math.sqrt(r)) / 2;
      if (s >= ta && s >= tb) return s;
    }
    return 1 + Math.min(ta, tb);
  }
  if (ta < Infinity) return 1 + ta;
  if (tb < Infinity) return 1 + tb;
  return Infinity;
}

export interface InpaintOptions {
  /** Neighbourhood radius ε in pixels (default 5; OpenCV's examples use 3 – 5). */
  radius?: number;
  /**
   * 1: each known pixel q contributes its first-order estimate I(q) + ∇I(q)·(p − q) (Telea's paper);
   * 0: I(q) alone (a weighted mean, what OpenCV's INPAINT_TELEA effectively does: it bounds the
   * gradient term to ≤ √2 grey levels).
   */
  order?: 0 | 1;
  /** With order 1: one gradient for all channels (of their mean), so the extrapolation shifts brightness, never hue (default true: per-channel gradients turned grain and a damage halo into blue and red streaks on sepia prints). */
  greyGradient?: boolean;
  /** Clamp the filled value, per channel, to the range of the known pixels it came from (no overshoot; default true). */
  clampRange?: boolean;
}

/**
 * Fills the pixels of `mask` in `img` (RGB float) by Telea's method; returns a new image, pixels
 * outside the mask unchanged. Pixels of a damaged region with no known pixel at all (a mask
 * covering everything) are left as they are.
 */
export function inpaintTelea(img: ImageF32, mask: Mask, opts: InpaintOptions = {}): ImageF32 {
  const { width: W, height: H } = img;
  if (mask.width !== W || mask.height !== H) throw new Error(`inpaint: mask is ${mask.width}×${mask.height}, image ${W}×${H}`);
  const eps = opts.radius ?? 5;
  const order = opts.order ?? 1;
  const clampRange = opts.clampRange ?? true;
  const greyGradient = opts.greyGradient ?? true;
  const out = new Float32Array(img.data);
  const n = W * H;
  const f = new Uint8Array(n);
  const T = new Float64Array(n);
  let inside = 0;
  for (let i = 0; i < n; i++) {
    if (mask.data[i]) {
      f[i] = INSIDE;
      T[i] = Infinity;
      inside++;
    }
  }
  if (inside === 0 || inside === n) return { width: W, height: H, data: out };
  const heap = new Heap(Math.max(16, inside));
  // Narrow band: known pixels 4-adjacent to the damaged region, T = 0.
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (f[i] !== KNOWN) continue;
      if ((x > 0 && f[i - 1] === INSIDE) || (x < W - 1 && f[i + 1] === INSIDE) || (y > 0 && f[i - W] === INSIDE) || (y < H - 1 && f[i + W] === INSIDE)) {
        f[i] = BAND;
        heap.push(i, 0);
      }
    }
  }
  const r2 = eps * eps;
  const ri = Math.ceil(eps);
  const fill = (px: number, py: number) => {
    const p = py * W + px;
    // ∇T at p from neighbours with a finite T.
    const tAt = (x: number, y: number) => (x >= 0 && x < W && y >= 0 && y < H && f[y * W + x] !== INSIDE ? T[y * W + x] : Infinity);
    const tp = T[p];
    let gx = 0, gy = 0;
    const txp = tAt(px + 1, py), txm = tAt(px - 1, py), typ = tAt(px, py + 1), tym = tAt(px, py - 1);
    if (txp < Infinity && txm < Infinity) gx = (txp - txm) / 2; else if (txp < Infinity) gx = txp - tp; else if (txm < Infinity) gx = tp - txm;
    if (typ < Infinity && tym < Infinity) gy = (typ - tym) / 2; else if (typ < Infinity) gy = typ - tp; else if (tym < Infinity) gy = tp - tym;
    const gl = Math.hypot(gx, gy) || 1;
    gx /= gl; gy /= gl;
    let sw = 0;
    let s0 = 0, s1 = 0, s2 = 0;
    let lo0 = 1, lo1 = 1, lo2 = 1, hi0 = 0, hi1 = 0, hi2 = 0;
    for (let qy = Math.max(0, py - ri); qy <= Math.min(H - 1, py + ri); qy++) {
      for (let qx = Math.max(0, px - ri); qx <= Math.min(W - 1, px + ri); qx++) {
        const q = qy * W + qx;
        if (q === p || f[q] === INSIDE) continue;
        const rx = px - qx, ry = py - qy;
        const d2 = rx * rx + ry * ry;
        if (d2 > r2) continue;
        const dl = Math.sqrt(d2);
        let dir = Math.abs((rx * gx + ry * gy) / dl);
        if (dir < 1e-6) dir = 1e-6;
        const dst = 1 / d2;
        const lev = 1 / (1 + Math.abs(T[q] - tp));
        const w = dir * dst * lev;
        // ∇I at q from known (not INSIDE) neighbours, per channel.
        const okR = qx + 1 < W && f[q + 1] !== INSIDE, okL = qx > 0 && f[q - 1] !== INSIDE;
        const okD = qy + 1 < H && f[q + W] !== INSIDE, okU = qy > 0 && f[q - W] !== INSIDE;
        const grad = (c: number): number => {
          const v = out[q * 3 + c];
          let ix = 0, iy = 0;
          if (okR && okL) ix = (out[(q + 1) * 3 + c] - out[(q - 1) * 3 + c]) / 2; else if (okR) ix = out[(q + 1) * 3 + c] - v; else if (okL) ix = v - out[(q - 1) * 3 + c];
          if (okD && okU) iy = (out[(q + W) * 3 + c] - out[(q - W) * 3 + c]) / 2; else if (okD) iy = out[(q + W) * 3 + c] - v; else if (okU) iy = v - out[(q - W) * 3 + c];
          return ix * rx + iy * ry;
        };
        const gGrey = order && greyGradient ? (grad(0) + grad(1) + grad(2)) / 3 : 0;
        for (let c = 0; c < 3; c++) {
          const v = out[q * 3 + c];
          const e = !order ? v : greyGradient ? v + gGrey : v + grad(c);
          if (c === 0) { s0 += w * e; if (v < lo0) lo0 = v; if (v > hi0) hi0 = v; }
          else if (c === 1) { s1 += w * e; if (v < lo1) lo1 = v; if (v > hi1) hi1 = v; }
          else { s2 += w * e; if (v < lo2) lo2 = v; if (v > hi2) hi2 = v; }
        }
        sw += w;
      }
    }
    if (sw > 0) {
      const cl = clampRange ? (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v) : (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
      out[p * 3] = cl(s0 / sw, lo0, hi0);
      out[p * 3 + 1] = cl(s1 / sw, lo1, hi1);
      out[p * 3 + 2] = cl(s2 / sw, lo2, hi2);
    }
  };
  while (heap.size) {
    const i = heap.pop();
    if (f[i] === KNOWN) continue;
    f[i] = KNOWN;
    const x = i % W, y = (i - x) / W;
    const nb = [x > 0 ? i - 1 : -1, x < W - 1 ? i + 1 : -1, y > 0 ? i - W : -1, y < H - 1 ? i + W : -1];
    for (const k of nb) {
      if (k < 0 || f[k] !== INSIDE) continue;
      const kx = k % W, ky = (k - kx) / W;
      const l = kx > 0 ? k - 1 : k, r = kx < W - 1 ? k + 1 : k, u = ky > 0 ? k - W : k, d = ky < H - 1 ? k + W : k;
      const t = Math.min(solve(T, f, l, u), solve(T, f, r, u), solve(T, f, l, d), solve(T, f, r, d));
      T[k] = t;
      fill(kx, ky);
      f[k] = BAND;
      heap.push(k, t);
    }
  }
  return { width: W, height: H, data: out };
}
