/**
 * Face alignment: a similarity transform (rotation, uniform scale, translation) fitted by least
 * squares (Umeyama 1991, no reflection) from 5 landmarks to the face model's 128×128 template,
 * bilinear warps both ways, and the feathered mask used to blend a restored face back.
 *
 * Coordinates are continuous pixel coordinates with pixel centres at integers (pixel i covers
 * [i − 0.5, i + 0.5]); an image scaled by s maps x → s·(x + 0.5) − 0.5.
 */
import type { ImageF32 } from '../image';
import type { Point } from './detect';
import { TEMPLATE_128 as template } from './template';

/** x' = a·x − b·y + tx,  y' = b·x + a·y + ty  (a = s·cosθ, b = s·sinθ). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export interface FaceTemplate {
  size: number;
  /** Image-left eye, image-right eye, nose tip, image-left mouth corner, image-right mouth corner. */
  points: Point[];
}

/** The 128×128 template measured on faces/train (see template.json's `how` and bench/README-faces.md). */
export const FACE_TEMPLATE: FaceTemplate = { size: template.size, points: template.points.map((p) => [p[0], p[1]] as Point) };

export function applySim(m: Similarity, p: Point): Point {
  return [m.a * p[0] - m.b * p[1] + m.tx, m.b * p[0] + m.a * p[1] + m.ty];
}

export function invertSim(m: Similarity): Similarity {
  const d = m.a * m.a + m.b * m.b;
  const a = m.a / d;
  const b = -m.b / d;
  return { a, b, tx: -(a * m.tx - b * m.ty), ty: -(b * m.tx + a * m.ty) };
}

/** Uniform scale of the transform. */
export function simScale(m: Similarity): number {
  return Math.hypot(m.a, m.b);
}

/**
 * `m` maps coordinates of an image `s` times larger than this one (p_big = s·(p + 0.5) − 0.5);
 * returns the same map taking this image's coordinates.
 */
export function scaleSource(m: Similarity, s: number): Similarity {
  const c = (s - 1) / 2;
  return { a: m.a * s, b: m.b * s, tx: m.a * c - m.b * c + m.tx, ty: m.b * c + m.a * c + m.ty };
}

/**
 * Least-squares similarity src → dst (Umeyama): minimises Σ |dst_i − (s·R·src_i + t)|².
 * Needs ≥ 2 distinct points (Σ|src − mean|² ≥ minSpread).
 */
export function umeyama(src: Point[], dst: Point[], minSpread = 1e-12): Similarity {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new RangeError('umeyama needs ≥ 2 point pairs');
  let mx = 0;
  let my = 0;
  let nx = 0;
  let ny = 0;
  for (let i = 0; i < n; i++) {
    mx += src[i][0];
    my += src[i][1];
    nx += dst[i][0];
    ny += dst[i][1];
  }
  mx /= n;
  my /= n;
  nx /= n;
  ny /= n;
  // For 2-D similarity the closed form reduces to: a = Σ(x·u + y·v)/Σ|p|², b = Σ(x·v − y·u)/Σ|p|².
  let sxx = 0;
  let num_a = 0;
  let num_b = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i][0] - mx;
    const y = src[i][1] - my;
    const u = dst[i][0] - nx;
    const v = dst[i][1] - ny;
    sxx += x * x + y * y;
    num_a += x * u + y * v;
    num_b += x * v - y * u;
  }
  if (sxx < minSpread) throw new RangeError('umeyama: source points coincide');
  const a = num_a / sxx;
  const b = num_b / sxx;
  return { a, b, tx: nx - (a * mx - b * my), ty: ny - (b * mx + a * my) };
}

/** Mean distance between mapped src points and dst (the fit's residual), in dst pixels. */
export function fitError(m: Similarity, src: Point[], dst: Point[]): number {
  let e = 0;
  for (let i = 0; i < src.length; i++) {
    const q = applySim(m, src[i]);
    e += Math.hypot(q[0] - dst[i][0], q[1] - dst[i][1]);
  }
  return e / src.length;
}

/** Bilinear sample of an HWC float image (3 channels) at (x, y), edges clamped. */
export function sampleBilinear(img: ImageF32, x: number, y: number, out: Float32Array, o = 0): void {
  const W = img.width;
  const H = img.height;
  const fx = x < 0 ? 0 : x > W - 1 ? W - 1 : x;
  const fy = y < 0 ? 0 : y > H - 1 ? H - 1 : y;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = x0 + 1 < W ? x0 + 1 : x0;
  const y1 = y0 + 1 < H ? y0 + 1 : y0;
  const tx = fx - x0;
  const ty = fy - y0;
  const d = img.data;
  const i00 = (y0 * W + x0) * 3;
  const i01 = (y0 * W + x1) * 3;
  const i10 = (y1 * W + x0) * 3;
  const i11 = (y1 * W + x1) * 3;
  for (let k = 0; k < 3; k++) {
    const top = d[i00 + k] + (d[i01 + k] - d[i00 + k]) * tx;
    const bot = d[i10 + k] + (d[i11 + k] - d[i10 + k]) * tx;
    out[o + k] = top + (bot - top) * ty;
  }
}

/**
 * Warps `src` into a `size`×`size` image: dst(p) = src(M⁻¹ p), where M maps source → destination
 * coordinates. Bilinear, edges clamped.
 */
export function warpToTemplate(src: ImageF32, M: Similarity, size: number): ImageF32 {
  const inv = invertSim(M);
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = inv.a * x - inv.b * y + inv.tx;
      const sy = inv.b * x + inv.a * y + inv.ty;
      sampleBilinear(src, sx, sy, out, (y * size + x) * 3);
    }
  }
  return { width: size, height: size, data: out };
}

/** Bounding box (integer, clipped to W×H) of the template square mapped back by M⁻¹. */
export function templateFootprint(M: Similarity, size: number, W: number, H: number, pad = 1): { x0: number; y0: number; x1: number; y1: number } {
  const inv = invertSim(M);
  const corners: Point[] = [
    [-0.5, -0.5],
    [size - 0.5, -0.5],
    [-0.5, size - 0.5],
    [size - 0.5, size - 0.5],
  ].map((p) => applySim(inv, p as Point));
  const xs = corners.map((p) => p[0]);
  const ys = corners.map((p) => p[1]);
  return {
    x0: Math.max(0, Math.floor(Math.min(...xs)) - pad),
    y0: Math.max(0, Math.floor(Math.min(...ys)) - pad),
    x1: Math.min(W, Math.ceil(Math.max(...xs)) + pad + 1),
    y1: Math.min(H, Math.ceil(Math.max(...ys)) + pad + 1),
  };
}

/**
 * Blend mask in template coordinates: 1 inside an ellipse around the face (the template's
 * forehead-to-chin, cheek-to-cheek area), falling to 0 with a raised-cosine feather, and exactly 0
 * outside the template square's inner margin (so nothing outside the aligned crop is touched).
 */
export function templateMask(size: number, opts: { feather?: number; rx?: number; ry?: number; cy?: number } = {}): Float32Array {
  const feather = opts.feather ?? 0.16;
  const rx = opts.rx ?? 0.46;
  const ry = opts.ry ?? 0.5;
  const cx = 0.5;
  const cy = opts.cy ?? 0.5;
  const m = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = ((x + 0.5) / size - cx) / rx;
      const v = ((y + 0.5) / size - cy) / ry;
      const r = Math.hypot(u, v); // 1 on the ellipse
      // Inside r ≤ 1 − feather/… : 1; fades to 0 at r = 1.
      const inner = 1 - feather / Math.min(rx, ry);
      let w = r <= inner ? 1 : r >= 1 ? 0 : 0.5 + 0.5 * Math.cos((Math.PI * (r - inner)) / (1 - inner));
      // Keep 2 template pixels of zero at the border.
      if (x < 2 || y < 2 || x >= size - 2 || y >= size - 2) w = 0;
      m[y * size + x] = w;
    }
  }
  return m;
}

/** Bilinear sample of a single-channel plane (edges → 0 outside). */
export function samplePlane(p: Float32Array, W: number, H: number, x: number, y: number): number {
  if (x < 0 || y < 0 || x > W - 1 || y > H - 1) return 0;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const x1 = x0 + 1 < W ? x0 + 1 : x0;
  const y1 = y0 + 1 < H ? y0 + 1 : y0;
  const tx = x - x0;
  const ty = y - y0;
  const top = p[y0 * W + x0] + (p[y0 * W + x1] - p[y0 * W + x0]) * tx;
  const bot = p[y1 * W + x0] + (p[y1 * W + x1] - p[y1 * W + x0]) * tx;
  return top + (bot - top) * ty;
}
