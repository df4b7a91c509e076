/**
 * NIQE (Mittal, Soundararajan & Bovik, IEEE SPL 2012), computed exactly as BasicSR's
 * `basicsr/metrics/niqe.py` (a translation of the official MATLAB release); see
 * ../shared/data/metrics/README.md for the step-by-step description.
 *
 * Differences from BasicSR are numeric only: everything here is float64 (BasicSR keeps the
 * image, the MSCN maps and the imresize in float32), which moves scores by ~1e-5.
 */
import { rgbToY, type AnyImage, type Plane } from './color';
import { gamma } from './gamma';
import { covComplete, nanMean, pinvSym } from './linalg';
import { imresizeMatlab, roundHalfEven } from './resize';

export const NIQE_FEATURES = 36;

export interface NiqeParams {
  /** 36 */
  mu: Float64Array;
  /** 36 x 36 row-major */
  cov: Float64Array;
  /** 7 x 7 row-major Gaussian window (MATLAB fspecial('gaussian', 7, 7/6)). */
  window: Float64Array;
  /** Block size at scale 1 (96 for the standard model; scale 2 uses half). */
  blockSize: number;
  /** Free-form label (which parameter set this is). */
  name?: string;
}

/** The JSON layout (BasicSR's npz keys; our own files add block_size / name / provenance fields). */
export interface NiqeParamsJson {
  mu_pris_param: number[][] | number[];
  cov_pris_param: number[][];
  gaussian_window: number[][];
  block_size?: number;
  name?: string;
  [k: string]: unknown;
}

export function niqeParamsFromJson(j: NiqeParamsJson, name?: string): NiqeParams {
  if (!j || !Array.isArray(j.mu_pris_param) || !Array.isArray(j.cov_pris_param) || !Array.isArray(j.gaussian_window)) {
    throw new Error('not a NIQE parameter file (needs mu_pris_param, cov_pris_param, gaussian_window)');
  }
  const mu = Float64Array.from((j.mu_pris_param as unknown[]).flat(2) as number[]);
  const cov = Float64Array.from(j.cov_pris_param.flat() as number[]);
  const window = Float64Array.from(j.gaussian_window.flat() as number[]);
  if (mu.length !== NIQE_FEATURES || cov.length !== NIQE_FEATURES ** 2 || window.length !== 49) {
    throw new Error(`NIQE parameters have the wrong shapes (mu ${mu.length}, cov ${cov.length}, window ${window.length})`);
  }
  return { mu, cov, window, blockSize: j.block_size ?? 96, name: name ?? j.name };
}

export function niqeParamsToJson(p: NiqeParams, extra: Record<string, unknown> = {}): NiqeParamsJson {
  const n = NIQE_FEATURES;
  const cov: number[][] = [];
  for (let i = 0; i < n; i++) cov.push(Array.from(p.cov.subarray(i * n, (i + 1) * n)));
  const win: number[][] = [];
  for (let i = 0; i < 7; i++) win.push(Array.from(p.window.subarray(i * 7, i * 7 + 7)));
  return { name: p.name, block_size: p.blockSize, ...extra, mu_pris_param: [Array.from(p.mu)], cov_pris_param: cov, gaussian_window: win };
}

/** MATLAB fspecial('gaussian', 7, 7/6). */
export function niqeGaussianWindow(): Float64Array {
  const w = new Float64Array(49);
  const s = 7 / 6;
  let sum = 0;
  for (let y = -3; y <= 3; y++)
    for (let x = -3; x <= 3; x++) {
      const v = Math.exp(-(x * x + y * y) / (2 * s * s));
      w[(y + 3) * 7 + x + 3] = v;
      sum += v;
    }
  for (let i = 0; i < 49; i++) w[i] /= sum;
  return w;
}

// ---------------------------------------------------------------- AGGD fit (gamma lookup table)

/** gam = np.arange(0.2, 10.001, 0.001) (9801 values) and r_gam = Γ(2/γ)² / (Γ(1/γ) Γ(3/γ)). */
const GAM = new Float64Array(9801);
const R_GAM = new Float64Array(9801);
for (let i = 0; i < GAM.length; i++) {
  const g = 0.2 + i * 0.001;
  GAM[i] = g;
  const r = 1 / g;
  R_GAM[i] = gamma(2 * r) ** 2 / (gamma(r) * gamma(3 * r));
}

/** np.argmin((R_GAM - x)²): R_GAM is strictly increasing, so binary search then check neighbours. */
function lookupGamma(x: number): number {
  if (Number.isNaN(x)) return 0; // numpy argmin returns the first NaN
  let lo = 0;
  let hi = R_GAM.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (R_GAM[mid] < x) lo = mid;
    else hi = mid;
  }
  let best = -1;
  let bestV = Infinity;
  for (let i = Math.max(0, lo - 2); i <= Math.min(R_GAM.length - 1, hi + 2); i++) {
    const d = (R_GAM[i] - x) ** 2;
    if (d < bestV) {
      bestV = d;
      best = i;
    }
  }
  return best;
}

/** BasicSR estimate_aggd_param on the first n values of `v`: (alpha, beta_l, beta_r). */
export function estimateAggd(v: Float64Array, n = v.length): [number, number, number] {
  let sl = 0;
  let nl = 0;
  let sr = 0;
  let nr = 0;
  let sabs = 0;
  let ssq = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    const x2 = x * x;
    if (x < 0) {
      sl += x2;
      nl++;
    } else if (x > 0) {
      sr += x2;
      nr++;
    }
    sabs += Math.abs(x);
    ssq += x2;
  }
  const leftStd = Math.sqrt(sl / nl);
  const rightStd = Math.sqrt(sr / nr);
  const gammahat = leftStd / rightStd;
  const rhat = (sabs / n) ** 2 / (ssq / n);
  const rhatnorm = (rhat * (gammahat ** 3 + 1) * (gammahat + 1)) / (gammahat ** 2 + 1) ** 2;
  const alpha = GAM[lookupGamma(rhatnorm)];
  const k = Math.sqrt(gamma(1 / alpha) / gamma(3 / alpha));
  return [alpha, leftStd * k, rightStd * k];
}

const SHIFTS: [number, number][] = [
  [0, 1],
  [1, 0],
  [1, 1],
  [1, -1],
];

/** BasicSR compute_feature on an h x w block (row-major): 18 features. np.roll wraps around. */
export function blockFeatures(block: Float64Array, h: number, w: number, out: Float64Array, offset: number): void {
  let [alpha, bl, br] = estimateAggd(block);
  out[offset] = alpha;
  out[offset + 1] = (bl + br) / 2;
  const prod = new Float64Array(h * w);
  for (let s = 0; s < 4; s++) {
    const [dy, dx] = SHIFTS[s];
    for (let y = 0; y < h; y++) {
      const sy = (((y - dy) % h) + h) % h;
      for (let x = 0; x < w; x++) {
        const sx = (((x - dx) % w) + w) % w;
        prod[y * w + x] = block[y * w + x] * block[sy * w + sx];
      }
    }
    [alpha, bl, br] = estimateAggd(prod);
    const mean = (br - bl) * (gamma(2 / alpha) / gamma(1 / alpha));
    const o = offset + 2 + s * 4;
    out[o] = alpha;
    out[o + 1] = mean;
    out[o + 2] = bl;
    out[o + 3] = br;
  }
}

/** 2-D convolution with a 7x7 window, scipy.ndimage.convolve(mode='nearest') semantics. */
function convolveNearest(p: Plane, win: Float64Array): Float64Array {
  const { width: w, height: h, data } = p;
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let ky = 0; ky < 7; ky++) {
        // convolution flips the kernel: out[y] = sum_k win[k] * in[y + 3 - k]
        let yy = y + 3 - ky;
        yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
        const row = yy * w;
        for (let kx = 0; kx < 7; kx++) {
          let xx = x + 3 - kx;
          xx = xx < 0 ? 0 : xx >= w ? w - 1 : xx;
          s += win[ky * 7 + kx] * data[row + xx];
        }
      }
      out[y * w + x] = s;
    }
  }
  return out;
}

/** MSCN coefficients (I - mu) / (sigma + 1) and the local deviation sigma. */
export function mscn(p: Plane, win: Float64Array): { mscn: Float64Array; sigma: Float64Array } {
  const mu = convolveNearest(p, win);
  const sq = new Float64Array(p.data.length);
  for (let i = 0; i < sq.length; i++) sq[i] = p.data[i] * p.data[i];
  const mu2 = convolveNearest({ ...p, data: sq }, win);
  const out = new Float64Array(sq.length);
  const sigma = new Float64Array(sq.length);
  for (let i = 0; i < sq.length; i++) {
    const s = Math.sqrt(Math.abs(mu2[i] - mu[i] * mu[i]));
    sigma[i] = s;
    out[i] = (p.data[i] - mu[i]) / (s + 1);
  }
  return { mscn: out, sigma };
}

export interface NiqeBlockFeatures {
  /** One 36-vector per block, blocks ordered column-major (BasicSR's idx_w outer, idx_h inner). */
  rows: Float64Array[];
  /** Mean of sigma over each block at scale 1 (the fitting recipe's "sharpness"), same order. */
  sharpness: Float64Array;
  blocksH: number;
  blocksW: number;
}

/** Rounded MATLAB Y channel (BasicSR calculate_niqe: to_y_channel, no crop, round). */
export function niqeLuma(img: AnyImage): Plane {
  const y = rgbToY(img);
  for (let i = 0; i < y.data.length; i++) y.data[i] = roundHalfEven(y.data[i]); // numpy round
  return y;
}

/** Features of every block of a luma plane (values 0..255): the two-scale NIQE features. */
export function niqeFeatures(luma: Plane, win: Float64Array, blockSize: number): NiqeBlockFeatures {
  const bh = Math.floor(luma.height / blockSize);
  const bw = Math.floor(luma.width / blockSize);
  if (bh < 1 || bw < 1) throw new Error(`image ${luma.width}x${luma.height} is smaller than one ${blockSize}x${blockSize} NIQE block`);
  if (blockSize % 2) throw new Error('NIQE block size must be even');
  const H = bh * blockSize;
  const W = bw * blockSize;
  let img: Plane = { width: W, height: H, data: new Float64Array(W * H) };
  for (let y = 0; y < H; y++) img.data.set(luma.data.subarray(y * luma.width, y * luma.width + W), y * W);

  const rows: Float64Array[] = [];
  for (let i = 0; i < bh * bw; i++) rows.push(new Float64Array(NIQE_FEATURES));
  const sharpness = new Float64Array(bh * bw);
  for (const scale of [1, 2]) {
    const { mscn: m, sigma } = mscn(img, win);
    const bs = blockSize / scale;
    const block = new Float64Array(bs * bs);
    let r = 0;
    for (let ix = 0; ix < bw; ix++) {
      for (let iy = 0; iy < bh; iy++) {
        let ssum = 0;
        for (let y = 0; y < bs; y++) {
          const src = (iy * bs + y) * img.width + ix * bs;
          block.set(m.subarray(src, src + bs), y * bs);
          if (scale === 1) for (let x = 0; x < bs; x++) ssum += sigma[src + x];
        }
        if (scale === 1) sharpness[r] = ssum / (bs * bs);
        blockFeatures(block, bs, bs, rows[r], (scale - 1) * 18);
        r++;
      }
    }
    if (scale === 1) {
      const s = new Float64Array(img.data.length);
      for (let i = 0; i < s.length; i++) s[i] = img.data[i] / 255;
      const half = imresizeMatlab({ width: img.width, height: img.height, channels: 1, data: s }, 0.5, true);
      for (let i = 0; i < half.data.length; i++) half.data[i] *= 255;
      img = { width: half.width, height: half.height, data: half.data };
    }
  }
  return { rows, sharpness, blocksH: bh, blocksW: bw };
}

/** NIQE distance between the pristine MVG and the MVG of the given block features (Eq. 10). */
export function niqeFromFeatures(rows: Float64Array[], params: NiqeParams): number {
  const d = NIQE_FEATURES;
  const mu = nanMean(rows, d);
  const cov = covComplete(rows, d);
  if (Number.isNaN(cov[0])) {
    throw new Error(`NIQE needs at least 2 blocks without NaN features (got ${rows.length} blocks): image too small or flat for this block size`);
  }
  const avg = new Float64Array(d * d);
  for (let i = 0; i < avg.length; i++) avg[i] = (params.cov[i] + cov[i]) / 2;
  const inv = pinvSym(avg, d);
  const diff = new Float64Array(d);
  for (let i = 0; i < d; i++) diff[i] = params.mu[i] - mu[i];
  let q = 0;
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += inv[i * d + j] * diff[j];
    q += diff[i] * s;
  }
  return Math.sqrt(q);
}

/** NIQE of an image (lower = more natural), BasicSR protocol: rounded Y, no border crop. */
export function niqe(img: AnyImage, params: NiqeParams): number {
  return niqeFromFeatures(niqeFeatures(niqeLuma(img), params.window, params.blockSize).rows, params);
}
