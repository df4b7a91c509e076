/**
 * Damage masks: one byte per pixel, 0 = good, 255 (any non-zero) = damaged. Small pure helpers
 * shared by the detector, the inpainting, the engine and the library.
 */
import type { ImageF32, ImageU8 } from '../image';

export interface Mask {
  width: number;
  height: number;
  /** width·height bytes, non-zero = damaged. */
  data: Uint8Array;
}

export function emptyMask(width: number, height: number): Mask {
  return { width, height, data: new Uint8Array(width * height) };
}

/** Damaged pixels. */
export function maskPixels(m: Mask): number {
  let n = 0;
  for (let i = 0; i < m.data.length; i++) if (m.data[i]) n++;
  return n;
}

/** Binary mask (0/255) from a decoded image: luminance (or alpha-less first channel) ≥ 128 is damaged. */
export function maskFromImage(img: ImageU8): Mask {
  const { width, height, channels, data } = img;
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const v = channels >= 3 ? (data[i * channels] * 299 + data[i * channels + 1] * 587 + data[i * channels + 2] * 114) / 1000 : data[i * channels];
    out[i] = v >= 128 ? 255 : 0;
  }
  return { width, height, data: out };
}

/** The mask as a one-channel image (0/255), for encoding as PNG. */
export function maskToImage(m: Mask): ImageU8 {
  const data = new Uint8Array(m.data.length);
  for (let i = 0; i < data.length; i++) data[i] = m.data[i] ? 255 : 0;
  return { width: m.width, height: m.height, channels: 1, data };
}

/** Nearest-neighbour resize (pixel centres), the only resize a binary mask takes. */
export function resizeMaskNearest(m: Mask, W: number, H: number): Mask {
  if (W === m.width && H === m.height) return { width: W, height: H, data: m.data.slice() };
  const out = new Uint8Array(W * H);
  const xs = Int32Array.from({ length: W }, (_, x) => Math.min(m.width - 1, Math.floor(((x + 0.5) * m.width) / W)));
  for (let y = 0; y < H; y++) {
    const sy = Math.min(m.height - 1, Math.floor(((y + 0.5) * m.height) / H));
    const row = sy * m.width;
    for (let x = 0; x < W; x++) out[y * W + x] = m.data[row + xs[x]];
  }
  return { width: W, height: H, data: out };
}

/** The pixels of rectangle `r` (clamped like cropU8). */
export function cropMask(m: Mask, r: { x: number; y: number; w: number; h: number }): Mask {
  const x = Math.min(r.x, m.width - 1);
  const y = Math.min(r.y, m.height - 1);
  const w = Math.min(r.w, m.width - x);
  const h = Math.min(r.h, m.height - y);
  const out = new Uint8Array(w * h);
  for (let j = 0; j < h; j++) out.set(m.data.subarray((y + j) * m.width + x, (y + j) * m.width + x + w), j * w);
  return { width: w, height: h, data: out };
}

/** Square dilation by `r` pixels (separable max). */
export function dilateMask(m: Mask, r: number): Mask {
  if (r <= 0) return { ...m, data: m.data.slice() };
  const { width: W, height: H } = m;
  const tmp = new Uint8Array(W * H);
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (let k = Math.max(0, x - r); k <= Math.min(W - 1, x + r) && !v; k++) v = m.data[y * W + k];
      tmp[y * W + x] = v ? 255 : 0;
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (let k = Math.max(0, y - r); k <= Math.min(H - 1, y + r) && !v; k++) v = tmp[k * W + x];
      out[y * W + x] = v ? 255 : 0;
    }
  }
  return { width: W, height: H, data: out };
}

/**
 * How a stored mask fits an image of W×H: the same size as is; the same aspect ratio (within 1 %,
 * e.g. a mask painted on a downscaled copy) resized by nearest neighbour; anything else is an error.
 */
export function fitMask(m: Mask, W: number, H: number, name = 'mask'): { mask: Mask; resized: boolean } {
  if (m.width === W && m.height === H) return { mask: m, resized: false };
  const a = m.width / m.height;
  const b = W / H;
  if (Math.abs(a / b - 1) > 0.01) throw new Error(`${name}: the mask is ${m.width}×${m.height} but the photo is ${W}×${H} (a different shape)`);
  return { mask: resizeMaskNearest(m, W, H), resized: true };
}

/** Checks a mask for use: null when it marks nothing (nothing to repair); an error when it marks everything. */
export function usableMask(m: Mask, name = 'mask'): Mask | null {
  const n = maskPixels(m);
  if (n === 0) return null;
  if (n === m.data.length) throw new Error(`${name}: mask covers the whole photo`);
  return m;
}

/** Luminance (Rec. 601) of an RGB float image. */
export function luminance(img: ImageF32): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) out[i] = 0.299 * d[i * 3] + 0.587 * d[i * 3 + 1] + 0.114 * d[i * 3 + 2];
  return out;
}
