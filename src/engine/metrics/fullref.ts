import { rgbToY, shave, type AnyImage, type Plane } from './color';

function checkSameSize(a: AnyImage, b: AnyImage): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`size mismatch: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
}

/** PSNR between two Y planes (peak 255). Infinity when identical. */
export function psnrPlanes(a: Plane, b: Plane): number {
  let s = 0;
  const n = a.data.length;
  for (let i = 0; i < n; i++) {
    const d = a.data[i] - b.data[i];
    s += d * d;
  }
  const mse = s / n;
  if (mse === 0) return Infinity;
  return 10 * Math.log10((255 * 255) / mse);
}

/**
 * PSNR on the Y channel (MATLAB YCbCr) with `border` pixels shaved on each side (BasicSR's
 * calculate_psnr(test_y_channel=True, crop_border=scale)).
 */
export function psnrY(img: AnyImage, ref: AnyImage, border = 0): number {
  checkSameSize(img, ref);
  return psnrPlanes(shave(rgbToY(img), border), shave(rgbToY(ref), border));
}

function gaussianKernel1d(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) {
    k[i] = Math.exp(-((i - c) * (i - c)) / (2 * sigma * sigma));
    s += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= s;
  return k;
}

/** 'valid' separable filtering: output (h-K+1) x (w-K+1). */
function filterValid(src: Float64Array, w: number, h: number, k: Float64Array): Float64Array {
  const K = k.length;
  const ow = w - K + 1;
  const oh = h - K + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += k[j] * src[row + x + j];
      tmp[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += k[j] * tmp[(y + j) * ow + x];
      out[y * ow + x] = s;
    }
  }
  return out;
}

const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

/** The local statistics SSIM and MS-SSIM share: 'valid' 11x11 Gaussian (σ 1.5) means of a, b, a², b², ab. */
function localStats(a: Plane, b: Plane) {
  const { width: w, height: h } = a;
  const k = gaussianKernel1d(11, 1.5);
  const n = w * h;
  const aa = new Float64Array(n);
  const bb = new Float64Array(n);
  const ab = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    aa[i] = a.data[i] * a.data[i];
    bb[i] = b.data[i] * b.data[i];
    ab[i] = a.data[i] * b.data[i];
  }
  return { mu1: filterValid(a.data, w, h, k), mu2: filterValid(b.data, w, h, k), s11: filterValid(aa, w, h, k), s22: filterValid(bb, w, h, k), s12: filterValid(ab, w, h, k) };
}

/** SSIM of two planes in [0, 255]: 11x11 Gaussian (sigma 1.5), 'valid' filtering, mean of the map. */
export function ssimPlanes(a: Plane, b: Plane): number {
  const { width: w, height: h } = a;
  if (w < 11 || h < 11) throw new Error(`image ${w}x${h} too small for SSIM (11x11 window)`);
  const { mu1, mu2, s11, s22, s12 } = localStats(a, b);
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i];
    const m2 = mu2[i];
    const m1s = m1 * m1;
    const m2s = m2 * m2;
    const m12 = m1 * m2;
    const v1 = s11[i] - m1s;
    const v2 = s22[i] - m2s;
    const v12 = s12[i] - m12;
    sum += ((2 * m12 + C1) * (2 * v12 + C2)) / ((m1s + m2s + C1) * (v1 + v2 + C2));
  }
  return sum / mu1.length;
}

/** SSIM on the Y channel (MATLAB YCbCr, [0, 255] float64) with `border` pixels shaved (BasicSR protocol). */
export function ssimY(img: AnyImage, ref: AnyImage, border = 0): number {
  checkSameSize(img, ref);
  return ssimPlanes(shave(rgbToY(img), border), shave(rgbToY(ref), border));
}

/** SSIM mean and contrast-structure mean (the l·c·s and c·s maps of Wang 2004) of two planes, 'valid' 11x11 Gaussian σ 1.5. */
function ssimAndCs(a: Plane, b: Plane): { ssim: number; cs: number } {
  const { mu1, mu2, s11, s22, s12 } = localStats(a, b);
  let sumS = 0;
  let sumC = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1s = mu1[i] * mu1[i];
    const m2s = mu2[i] * mu2[i];
    const m12 = mu1[i] * mu2[i];
    const cs = (2 * (s12[i] - m12) + C2) / (s11[i] - m1s + (s22[i] - m2s) + C2);
    sumC += cs;
    sumS += ((2 * m12 + C1) / (m1s + m2s + C1)) * cs;
  }
  return { ssim: sumS / mu1.length, cs: sumC / mu1.length };
}

/**
 * 2x2 average then every second pixel, output ceil(w/2) x ceil(h/2). `pad` is what lies past the
 * right/bottom edge of an odd-sized plane: 'symmetric' (MATLAB imfilter(…,'symmetric'), Wang's
 * msssim.m) or 'zero' (conv2(…,'same'), Xue's GMSD.m).
 */
export function halve(p: Plane, pad: 'symmetric' | 'zero'): Plane {
  const { width: w, height: h, data } = p;
  const ow = Math.ceil(w / 2);
  const oh = Math.ceil(h / 2);
  const out = new Float64Array(ow * oh);
  const at = (x: number, y: number) => {
    if (x < w && y < h) return data[y * w + x];
    if (pad === 'zero') return 0;
    return data[Math.min(y, h - 1) * w + Math.min(x, w - 1)];
  };
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const x0 = 2 * x;
      const y0 = 2 * y;
      out[y * ow + x] = (at(x0, y0) + at(x0 + 1, y0) + at(x0, y0 + 1) + at(x0 + 1, y0 + 1)) / 4;
    }
  }
  return { width: ow, height: oh, data: out };
}

/** MS-SSIM scale weights (Wang, Simoncelli, Bovik 2003, Table / msssim.m). */
export const MSSSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] as const;
/** Smallest side MS-SSIM accepts: the 5th scale (÷16) must still hold the 11x11 window. */
export const MSSSIM_MIN_SIDE = 161;

/**
 * MS-SSIM (Wang, Simoncelli, Bovik 2003) of two planes in [0, 255], as Wang's msssim.m: at each of 5
 * scales the SSIM and the contrast-structure term with an 11x11 Gaussian (σ 1.5, 'valid'), K = (0.01,
 * 0.03), L = 255; then 2x2 average (symmetric edge) and decimation by 2. Result Π cs_j^w_j (j < 5) ·
 * ssim_5^w_5. A negative mean term (possible only for very different images) is taken as 0, so the
 * result is 0 there instead of NaN. 1 for identical planes.
 */
export function msssimPlanes(a: Plane, b: Plane): number {
  if (a.width < MSSSIM_MIN_SIDE || a.height < MSSSIM_MIN_SIDE) {
    throw new Error(`image ${a.width}x${a.height} too small for MS-SSIM (needs ${MSSSIM_MIN_SIDE} px on each side for 5 scales of an 11x11 window)`);
  }
  let x = a;
  let y = b;
  let result = 1;
  for (let j = 0; j < MSSSIM_WEIGHTS.length; j++) {
    const { ssim, cs } = ssimAndCs(x, y);
    const last = j === MSSSIM_WEIGHTS.length - 1;
    result *= Math.max(0, last ? ssim : cs) ** MSSSIM_WEIGHTS[j];
    if (!last) {
      x = halve(x, 'symmetric');
      y = halve(y, 'symmetric');
    }
  }
  return result;
}

/** MS-SSIM on the Y channel (MATLAB YCbCr, [0, 255] float64) with `border` pixels shaved. Higher is better, 1 = identical. */
export function msssimY(img: AnyImage, ref: AnyImage, border = 0): number {
  checkSameSize(img, ref);
  return msssimPlanes(shave(rgbToY(img), border), shave(rgbToY(ref), border));
}

/** Prewitt gradient magnitude, conv2(…,'same') with zero padding, kernels [1 0 -1]/3 over 3 rows (and transposed). */
function prewittMagnitude(p: Plane): Float64Array {
  const { width: w, height: h, data } = p;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= w || y >= h ? 0 : data[y * w + x]);
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let gx = 0;
      let gy = 0;
      for (let d = -1; d <= 1; d++) {
        gx += at(x + 1, y + d) - at(x - 1, y + d);
        gy += at(x + d, y + 1) - at(x + d, y - 1);
      }
      out[y * w + x] = Math.sqrt(gx * gx + gy * gy) / 3;
    }
  }
  return out;
}

/** GMSD's stability constant for [0, 255] images (Xue et al. 2014). */
export const GMSD_C = 170;

/**
 * GMSD (Xue, Zhang, Mou, Bovik 2014), as the authors' GMSD.m: both planes 2x2-averaged and decimated
 * by 2 (zero edge), Prewitt gradient magnitudes m1, m2 (zero padding), GMS = (2 m1 m2 + c) / (m1² +
 * m2² + c) with c = 170, score = the standard deviation of the GMS map (N - 1 denominator, MATLAB
 * std2). Lower is better, 0 = identical.
 */
export function gmsdPlanes(a: Plane, b: Plane): number {
  if (a.width < 2 || a.height < 2) throw new Error(`image ${a.width}x${a.height} too small for GMSD`);
  const m1 = prewittMagnitude(halve(a, 'zero'));
  const m2 = prewittMagnitude(halve(b, 'zero'));
  const n = m1.length;
  const gms = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    gms[i] = (2 * m1[i] * m2[i] + GMSD_C) / (m1[i] * m1[i] + m2[i] * m2[i] + GMSD_C);
    mean += gms[i];
  }
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (gms[i] - mean) ** 2;
  return n > 1 ? Math.sqrt(v / (n - 1)) : 0;
}

/** GMSD on the Y channel (MATLAB YCbCr, [0, 255] float64) with `border` pixels shaved. */
export function gmsdY(img: AnyImage, ref: AnyImage, border = 0): number {
  checkSameSize(img, ref);
  return gmsdPlanes(shave(rgbToY(img), border), shave(rgbToY(ref), border));
}
