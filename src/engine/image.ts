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
