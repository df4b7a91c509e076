/**
 * Image-quality metrics (DESIGN.md §5): PSNR / SSIM on MATLAB's Y channel, NIQE (BasicSR-exact),
 * our own no-reference score (NIQE with our fitted parameters, standard or small blocks) and
 * LR-consistency. Pure functions on ImageU8 / ImageF32; ImageF32 is quantised to 8-bit first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ImageF32, ImageU8 } from '../image';
import { isU8, rgbToY, type AnyImage } from './color';
import { psnrPlanes } from './fullref';
import { niqe, niqeParamsFromJson, type NiqeParams } from './niqe';
import { bufToU8, f32ToBuf, resizeBicubicAA, u8ToBuf } from './resize';

export { rgbToY, shave, type AnyImage, type Plane } from './color';
export { psnrY, ssimY, psnrPlanes, ssimPlanes, msssimY, msssimPlanes, gmsdY, gmsdPlanes, MSSSIM_WEIGHTS, MSSSIM_MIN_SIDE, GMSD_C } from './fullref';
export {
  niqe,
  niqeFeatures,
  niqeFromFeatures,
  niqeLuma,
  niqeGaussianWindow,
  niqeParamsFromJson,
  niqeParamsToJson,
  type NiqeParams,
  type NiqeParamsJson,
} from './niqe';
export { resizeBicubicAA, resizeBicubicTorch, imresizeMatlab, degradeU8, cropToMultiple, bufToU8, u8ToBuf } from './resize';

/** Load a NIQE parameter JSON (BasicSR layout: the shared MATLAB params, or ours with block_size). */
export function loadNiqeParams(file: string): NiqeParams {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  try {
    return niqeParamsFromJson(j as never, (j as { name?: string })?.name ?? path.basename(file, ".json"));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** models/niqe/ in the source tree (override with DAGUERRE_NIQE_DIR or pass params explicitly). */
export function defaultNiqeDir(): string {
  if (process.env.DAGUERRE_NIQE_DIR) return process.env.DAGUERRE_NIQE_DIR;
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../models/niqe');
}

let cached: { dir: string; standard: NiqeParams; small: NiqeParams } | undefined;

/** Our own fitted parameters: standard (96x96 blocks) and small (32x32 blocks). Cached. */
export function ownNiqeParams(dir = defaultNiqeDir()): { standard: NiqeParams; small: NiqeParams } {
  if (cached && cached.dir === dir) return cached;
  const std = path.join(dir, 'niqe-params.json');
  const small = path.join(dir, 'niqe-small-params.json');
  for (const f of [std, small]) if (!existsSync(f)) throw new Error(`${f}: missing (run npx tsx bench/fit-niqe.ts)`);
  cached = { dir, standard: loadNiqeParams(std), small: loadNiqeParams(small) };
  return cached;
}

/** Images at least this large on both sides get the standard (96x96-block) model. */
export const STANDARD_NIQE_MIN_SIDE = 192;

export interface NoReferenceScore {
  /** NIQE distance to our pristine model: lower = more natural. */
  score: number;
  variant: 'standard' | 'small';
  blockSize: number;
  params: string;
  /** Why `score` is NaN (image smaller than two blocks, or flat). */
  error?: string;
}

/**
 * Our no-reference score: NIQE with our own fitted parameters; the standard-block variant
 * (96x96 / 48x48) for images >= 192 px on both sides, the small-block variant (32x32 / 16x16)
 * otherwise (a 128x128 image then has 16 blocks, enough for a defined covariance).
 * Never throws for image content: an image with fewer than two usable blocks gets score NaN and `error`.
 */
export function noReferenceScore(img: AnyImage, params?: { standard: NiqeParams; small: NiqeParams }): NoReferenceScore {
  const p = params ?? ownNiqeParams();
  const useStd = img.width >= STANDARD_NIQE_MIN_SIDE && img.height >= STANDARD_NIQE_MIN_SIDE;
  const chosen = useStd ? p.standard : p.small;
  const base = { variant: useStd ? ('standard' as const) : ('small' as const), blockSize: chosen.blockSize, params: chosen.name ?? '' };
  try {
    return { score: niqe(img, chosen), ...base };
  } catch (e) {
    // too small for two blocks, or flat (every block's features NaN): no score, never a throw
    return { score: NaN, ...base, error: (e as Error).message };
  }
}

/**
 * LR-consistency: PSNR (MATLAB Y, no border shaved) between the output downsampled by the
 * degradation (PyTorch antialiased bicubic to the LR's size, rounded to uint8) and the LR input.
 */
export function lrConsistency(output: ImageU8 | ImageF32, lr: ImageU8): number {
  const b = isU8(output) ? u8ToBuf(output) : f32ToBuf(output);
  const down = bufToU8(resizeBicubicAA(b, lr.width, lr.height));
  return psnrPlanes(rgbToY(down), rgbToY(lr));
}
