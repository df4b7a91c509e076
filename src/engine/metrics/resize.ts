/**
 * Resamplers used by the metrics and the bench, on float64 HWC buffers.
 *
 * - `resizeBicubicAA`: PyTorch `F.interpolate(mode='bicubic', antialias=True, align_corners=False)`
 *   (torch 1.13 `_upsample_bicubic2d_aa`: PIL-style separable filter, cubic a = -0.5, support
 *   2 x scale when downsampling, weights normalised per output pixel; width pass first, then height).
 *   This is the degradation (HR -> LR) of the paper's protocol.
 * - `resizeBicubicTorch`: PyTorch `F.interpolate(mode='bicubic', align_corners=False)` without
 *   antialiasing (a = -0.75, edge-clamped taps): the conditioning upsampler.
 * - `imresizeMatlab`: MATLAB `imresize` bicubic with antialiasing (a = -0.5, symmetric padding),
 *   as BasicSR's `matlab_functions.imresize`; NIQE uses it for its second scale.
 */
import type { ImageF32, ImageU8 } from '../image';
import { axisTaps, cubicA, type AxisTaps } from '../diffusion/bicubic';

export interface Buf {
  width: number;
  height: number;
  channels: number;
  data: Float64Array;
}

/** MATLAB's taps, as tables of diffusion/bicubic.ts's layout (PyTorch's are that file's axisTaps). */
function tapsMatlab(inSize: number, outSize: number, scale: number, antialias: boolean): AxisTaps {
  let kw = 4;
  const aa = scale < 1 && antialias;
  if (aa) kw = kw / scale;
  const p = Math.ceil(kw) + 2;
  const idx = new Int32Array(outSize * p);
  const w = new Float64Array(outSize * p);
  const mirror = (j: number) => {
    // symmetric padding (edge sample repeated), 0-based
    while (j < 0 || j >= inSize) j = j < 0 ? -j - 1 : 2 * inSize - 1 - j;
    return j;
  };
  for (let i = 0; i < outSize; i++) {
    const x = i + 1;
    const u = x / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kw / 2);
    let total = 0;
    for (let k = 0; k < p; k++) {
      const ind = left + k; // 1-based
      const d = u - ind;
      const v = aa ? scale * cubicA(d * scale, -0.5) : cubicA(d, -0.5);
      w[i * p + k] = v;
      idx[i * p + k] = mirror(ind - 1);
      total += v;
    }
    for (let k = 0; k < p; k++) w[i * p + k] /= total;
  }
  return { outSize, n: p, idx, w };
}

function applyW(src: Buf, outW: number, t: AxisTaps): Buf {
  const { width, height, channels: c } = src;
  const out = new Float64Array(outW * height * c);
  for (let y = 0; y < height; y++) {
    const row = y * width * c;
    for (let x = 0; x < outW; x++) {
      const n = t.n;
      const o = (y * outW + x) * c;
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += t.w[x * n + k] * src.data[row + t.idx[x * n + k] * c + ch];
        out[o + ch] = s;
      }
    }
  }
  return { width: outW, height, channels: c, data: out };
}

function applyH(src: Buf, outH: number, t: AxisTaps): Buf {
  const { width, channels: c } = src;
  const rowLen = width * c;
  const out = new Float64Array(outH * rowLen);
  for (let y = 0; y < outH; y++) {
    const n = t.n;
    const o = y * rowLen;
    for (let k = 0; k < n; k++) {
      const wk = t.w[y * n + k];
      const r = t.idx[y * n + k] * rowLen;
      for (let i = 0; i < rowLen; i++) out[o + i] += wk * src.data[r + i];
    }
  }
  return { width, height: outH, channels: c, data: out };
}

/** PyTorch antialiased bicubic (align_corners=False) to outW x outH. Values are not clamped. */
export function resizeBicubicAA(src: Buf, outW: number, outH: number): Buf {
  let b = src;
  if (outW !== src.width) b = applyW(b, outW, axisTaps(src.width, outW, true));
  if (outH !== src.height) b = applyH(b, outH, axisTaps(src.height, outH, true));
  return b === src ? { ...src, data: src.data.slice() } : b;
}

/** PyTorch bicubic (a = -0.75, align_corners=False, no antialias) to outW x outH. Not clamped. */
export function resizeBicubicTorch(src: Buf, outW: number, outH: number): Buf {
  let b = src;
  if (outW !== src.width) b = applyW(b, outW, axisTaps(src.width, outW, false));
  if (outH !== src.height) b = applyH(b, outH, axisTaps(src.height, outH, false));
  return b === src ? { ...src, data: src.data.slice() } : b;
}

/** MATLAB/BasicSR imresize(img, scale) bicubic, antialiasing on; output size ceil(in * scale). Height first. */
export function imresizeMatlab(src: Buf, scale: number, antialias = true): Buf {
  const outH = Math.ceil(src.height * scale);
  const outW = Math.ceil(src.width * scale);
  const h = applyH(src, outH, tapsMatlab(src.height, outH, scale, antialias));
  return applyW(h, outW, tapsMatlab(src.width, outW, scale, antialias));
}

/** Round half to even (torch.round / numpy.round semantics). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** ImageU8 (any channels) -> RGB float64 buffer in [0, 1]. */
export function u8ToBuf(img: ImageU8): Buf {
  const { width, height, channels: c, data } = img;
  const n = width * height;
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const r = data[i * c] / 255;
    out[i * 3] = r;
    out[i * 3 + 1] = c >= 3 ? data[i * c + 1] / 255 : r;
    out[i * 3 + 2] = c >= 3 ? data[i * c + 2] / 255 : r;
  }
  return { width, height, channels: 3, data: out };
}

export function f32ToBuf(img: ImageF32): Buf {
  return { width: img.width, height: img.height, channels: 3, data: Float64Array.from(img.data) };
}

/** [0,1] float buffer -> uint8 levels: x * 255, round half to even, clamp (training's quantize_uint8). */
export function bufToU8(b: Buf): ImageU8 {
  const out = new Uint8Array(b.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = roundHalfEven(b.data[i] * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width: b.width, height: b.height, channels: b.channels, data: out };
}

/**
 * The degradation: antialiased bicubic down to floor(size / scale) (PyTorch semantics), rounded to
 * uint8 (training/daguerre_train/degrade.py `lr_from_hr`). Crop HR to a multiple of the scale first
 * when the protocol asks for it (see `cropToMultiple`).
 */
export function degradeU8(hr: ImageU8, scale: number): ImageU8 {
  const b = u8ToBuf(hr);
  return bufToU8(resizeBicubicAA(b, Math.floor(hr.width / scale), Math.floor(hr.height / scale)));
}

/** Top-left crop to a multiple of `m` on both sides. */
export function cropToMultiple(img: ImageU8, m: number): ImageU8 {
  const w = img.width - (img.width % m);
  const h = img.height - (img.height % m);
  if (w === img.width && h === img.height) return img;
  const c = img.channels;
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(y * img.width * c, (y * img.width + w) * c), y * w * c);
  return { width: w, height: h, channels: c, data: out };
}
