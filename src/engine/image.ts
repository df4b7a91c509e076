/**
 * In-memory image types shared by the engine's modules. Pixels are interleaved (HWC), row-major.
 * ImageU8: what sharp decodes/encodes (channels 1..4). ImageF32: RGB in [0, 1], 3 channels.
 */
export interface ImageU8 {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export interface ImageF32 {
  width: number;
  height: number;
  /** HWC, 3 channels, values in [0, 1]. */
  data: Float32Array;
}

/** A grey photo's R, G and B agree within this many 8-bit levels (grey scans carry a little chroma noise)… */
export const GREY_TOLERANCE = 2;
/** …on all but this fraction of its pixels (at least one pixel is always forgiven). */
export const GREY_OUTLIER_FRACTION = 0.001;

/**
 * The one grey verdict (GREY_TOLERANCE, GREY_OUTLIER_FRACTION), of 8-bit pixels or of [0, 1] floats
 * (compared in 8-bit levels): the diffusion engine then works on luminance and writes grey tiles,
 * the portrait path keeps its faces grey, and the encoder writes one channel. 1–2 channels: grey.
 */
export function isGrey(img: ImageU8 | ImageF32): boolean {
  const channels = 'channels' in img ? img.channels : 3;
  if (channels < 3) return true;
  const d = img.data;
  // Floats hold levels/255; the margin absorbs float32 rounding of k/255 (8-bit data compare exactly).
  const tol = d instanceof Uint8Array ? GREY_TOLERANCE : (GREY_TOLERANCE + 1e-3) / 255;
  const n = img.width * img.height;
  const limit = Math.max(1, Math.floor(n * GREY_OUTLIER_FRACTION));
  let off = 0;
  for (let i = 0, p = 0; i < n; i++, p += channels) {
    const r = d[p];
    const g = d[p + 1];
    const b = d[p + 2];
    if (Math.abs(r - g) > tol || Math.abs(r - b) > tol || Math.abs(g - b) > tol) {
      if (++off > limit) return false;
    }
  }
  return true;
}

export function u8ToF32(img: ImageU8): ImageF32 {
  const { width, height, channels, data } = img;
  const out = new Float32Array(width * height * 3);
  for (let i = 0, n = width * height; i < n; i++) {
    if (channels >= 3) {
      out[i * 3] = data[i * channels] / 255;
      out[i * 3 + 1] = data[i * channels + 1] / 255;
      out[i * 3 + 2] = data[i * channels + 2] / 255;
    } else {
      const v = data[i * channels] / 255;
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    }
  }
  return { width, height, data: out };
}

export function f32ToU8(img: ImageF32): ImageU8 {
  const { width, height, data } = img;
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < out.length; i++) {
    const v = Math.round(data[i] * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width, height, channels: 3, data: out };
}

/** The pixels of `r` (clamped to the image), any channel count. */
export function cropU8(img: ImageU8, r: { x: number; y: number; w: number; h: number }): ImageU8 {
  const x = Math.min(r.x, img.width - 1);
  const y = Math.min(r.y, img.height - 1);
  const w = Math.min(r.w, img.width - x);
  const h = Math.min(r.h, img.height - y);
  const out = new Uint8Array(w * h * img.channels);
  for (let j = 0; j < h; j++) {
    const src = ((y + j) * img.width + x) * img.channels;
    out.set(img.data.subarray(src, src + w * img.channels), j * w * img.channels);
  }
  return { width: w, height: h, channels: img.channels, data: out };
}
