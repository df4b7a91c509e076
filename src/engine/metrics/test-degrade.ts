/**
 * Fixed, seeded test degradations for `daguerre bench --degrade` (issue 15 item 5).
 *
 * `bicubic` is the paper's protocol (antialiased bicubic down, uint8). The `real:*` levels are fixed
 * points of the training pipeline's first stage (training/daguerre_train/degrade_real.py: blur at HR,
 * resize down, additive noise, JPEG), with every parameter fixed so a table is reproducible and its
 * header can print them; only the noise is random, drawn from `Rng(seed)` per image:
 *
 *   1. isotropic Gaussian blur of the HR image (σ in HR pixels; reflected borders),
 *   2. antialiased bicubic ÷scale (PyTorch semantics, as `degradeU8`), kept in float,
 *   3. Gaussian noise σ/255, per channel ("colour") or one value for all channels ("grey"), clipped,
 *   4. rounded to uint8 and JPEG-compressed at `jpeg` quality (libjpeg via sharp, 4:2:0), decoded.
 *
 * `real:medium` is the row of the table (blur σ 1.2, ×1/4, noise σ 8/255, JPEG q 60).
 */
import sharp from 'sharp';
import type { ImageU8 } from '../image';
import { Rng } from '../diffusion/rng';
import { bufToU8, resizeBicubicAA, u8ToBuf } from './resize';

export interface TestDegradation {
  name: string;
  /** Gaussian blur σ at HR resolution (0 = none). */
  blurSigma: number;
  /** Additive Gaussian noise σ in 8-bit levels (0 = none). */
  noiseSigma: number;
  noise: 'colour' | 'grey';
  /** JPEG quality 1…100 (0 = no JPEG). */
  jpeg: number;
}

export const TEST_DEGRADATIONS: Readonly<Record<string, TestDegradation>> = {
  bicubic: { name: 'bicubic', blurSigma: 0, noiseSigma: 0, noise: 'colour', jpeg: 0 },
  'real:light': { name: 'real:light', blurSigma: 0.8, noiseSigma: 3, noise: 'colour', jpeg: 85 },
  'real:medium': { name: 'real:medium', blurSigma: 1.2, noiseSigma: 8, noise: 'colour', jpeg: 60 },
  'real:heavy': { name: 'real:heavy', blurSigma: 2.0, noiseSigma: 15, noise: 'grey', jpeg: 35 },
};

/** The named degradation, or an error listing the known names. */
export function parseTestDegradation(name: string): TestDegradation {
  const d = TEST_DEGRADATIONS[name.trim().toLowerCase()];
  if (!d) throw new Error(`--degrade: unknown degradation "${name}" (${Object.keys(TEST_DEGRADATIONS).join(', ')})`);
  return d;
}

/** One line for a table header: every parameter of the degradation. */
export function describeTestDegradation(d: TestDegradation, scale: number): string {
  if (d.name === 'bicubic') return `bicubic: antialiased bicubic ÷${scale}, uint8 (the paper's protocol)`;
  const parts = [
    d.blurSigma ? `Gaussian blur σ ${d.blurSigma} (HR px)` : null,
    `antialiased bicubic ÷${scale}`,
    d.noiseSigma ? `${d.noise} Gaussian noise σ ${d.noiseSigma}/255 (seed per image)` : null,
    d.jpeg ? `JPEG q ${d.jpeg} (4:2:0)` : null,
  ].filter(Boolean);
  return `${d.name}: ${parts.join(', ')}`;
}

/** Normalised 1-D Gaussian taps of radius ceil(3σ). */
export function gaussianTaps(sigma: number): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

const reflect = (i: number, n: number): number => {
  if (n === 1) return 0;
  const p = 2 * (n - 1);
  i = ((i % p) + p) % p;
  return i < n ? i : p - i;
};

/** Separable Gaussian blur of an interleaved float image (values unchanged in range), reflected borders. */
export function gaussianBlurHWC(data: Float64Array, width: number, height: number, channels: number, sigma: number): Float64Array {
  if (!(sigma > 0)) return data.slice();
  const k = gaussianTaps(sigma);
  const r = (k.length - 1) / 2;
  const tmp = new Float64Array(data.length);
  const out = new Float64Array(data.length);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let t = -r; t <= r; t++) s += k[t + r] * data[(y * width + reflect(x + t, width)) * channels + c];
        tmp[(y * width + x) * channels + c] = s;
      }
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let t = -r; t <= r; t++) s += k[t + r] * tmp[(reflect(y + t, height) * width + x) * channels + c];
        out[(y * width + x) * channels + c] = s;
      }
  return out;
}

/**
 * The degraded LR of `hr` (uint8 RGB, cropped to a multiple of `scale` by the caller) and, for
 * LR-consistency against the clean picture, the clean bicubic LR. Same inputs, same bytes.
 */
export async function degradeForTest(hr: ImageU8, scale: number, d: TestDegradation, seed: number): Promise<{ lr: ImageU8; cleanLr: ImageU8 }> {
  const w = Math.floor(hr.width / scale);
  const h = Math.floor(hr.height / scale);
  const src = u8ToBuf(hr);
  const cleanLr = bufToU8(resizeBicubicAA(src, w, h));
  if (d.name === 'bicubic') return { lr: cleanLr, cleanLr };
  const blurred = { ...src, data: gaussianBlurHWC(src.data, src.width, src.height, src.channels, d.blurSigma) };
  const down = resizeBicubicAA(blurred, w, h);
  if (d.noiseSigma > 0) {
    const rng = new Rng(seed, 0x5eed);
    const s = d.noiseSigma / 255;
    const c = down.channels;
    for (let i = 0; i < down.data.length; i += c) {
      const g = d.noise === 'grey' ? rng.normal() * s : 0;
      for (let j = 0; j < c; j++) {
        const v = down.data[i + j] + (d.noise === 'grey' ? g : rng.normal() * s);
        down.data[i + j] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
  let lr = bufToU8(down);
  if (d.jpeg > 0) {
    const raw = { width: lr.width, height: lr.height, channels: lr.channels as 3 };
    const jpg = await sharp(Buffer.from(lr.data.buffer, lr.data.byteOffset, lr.data.length), { raw }).jpeg({ quality: d.jpeg, chromaSubsampling: '4:2:0', mozjpeg: false }).toBuffer();
    const { data, info } = await sharp(jpg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    lr = { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  }
  return { lr, cleanLr };
}
