import type { ImageF32, ImageU8 } from '../image';

/** A single-channel float64 plane, row-major. */
export interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

export type AnyImage = ImageU8 | ImageF32;

export function isU8(img: AnyImage): img is ImageU8 {
  return img.data instanceof Uint8Array;
}

/**
 * Y channel of MATLAB's rgb2ycbcr: Y = 16 + 65.481 R + 128.553 G + 24.966 B with R, G, B in [0, 1]
 * (Y in [16, 235]), as float64. ImageF32 input is first quantised to 8-bit levels (round, clamp),
 * because the protocol (BasicSR / the paper) measures saved 8-bit images. Grey images (1-2 channels)
 * use R = G = B. Alpha is ignored.
 */
export function rgbToY(img: AnyImage): Plane {
  const { width, height } = img;
  const n = width * height;
  const out = new Float64Array(n);
  if (isU8(img)) {
    const c = img.channels;
    const d = img.data;
    for (let i = 0; i < n; i++) {
      const r = d[i * c] / 255;
      const g = c >= 3 ? d[i * c + 1] / 255 : r;
      const b = c >= 3 ? d[i * c + 2] / 255 : r;
      out[i] = 16 + 65.481 * r + 128.553 * g + 24.966 * b;
    }
  } else {
    const d = img.data;
    const q = (v: number) => {
      const x = Math.round(v * 255);
      return (x < 0 ? 0 : x > 255 ? 255 : x) / 255;
    };
    for (let i = 0; i < n; i++) {
      out[i] = 16 + 65.481 * q(d[i * 3]) + 128.553 * q(d[i * 3 + 1]) + 24.966 * q(d[i * 3 + 2]);
    }
  }
  return { width, height, data: out };
}

/** Remove `border` pixels on every side. */
export function shave(p: Plane, border: number): Plane {
  if (border <= 0) return p;
  const width = p.width - 2 * border;
  const height = p.height - 2 * border;
  if (width <= 0 || height <= 0) throw new Error(`image ${p.width}x${p.height} too small to shave ${border} px`);
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    const src = (y + border) * p.width + border;
    out.set(p.data.subarray(src, src + width), y * width);
  }
  return { width, height, data: out };
}
