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

/** SSIM of two planes in [0, 255]: 11x11 Gaussian (sigma 1.5), 'valid' filtering, mean of the map. */
export function ssimPlanes(a: Plane, b: Plane): number {
  const { width: w, height: h } = a;
  if (w < 11 || h < 11) throw new Error(`image ${w}x${h} too small for SSIM (11x11 window)`);
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
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
  const mu1 = filterValid(a.data, w, h, k);
  const mu2 = filterValid(b.data, w, h, k);
  const s11 = filterValid(aa, w, h, k);
  const s22 = filterValid(bb, w, h, k);
  const s12 = filterValid(ab, w, h, k);
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
