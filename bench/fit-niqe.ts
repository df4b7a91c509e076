/**
 * Fit our own NIQE pristine parameters (models/niqe/niqe-params.json, niqe-small-params.json).
 *
 * Recipe (the original NIQE estimatemodelparam.m, with BasicSR's feature code):
 *  1. each training image -> MATLAB Y channel, rounded (the same luma the metric uses);
 *  2. crop to whole blocks; two-scale features per block (18 at scale 1 on B x B blocks, 18 at scale 2
 *     on B/2 x B/2 blocks after MATLAB bicubic imresize 0.5), exactly as in the metric;
 *  3. per image, keep the blocks whose sharpness (mean of the local deviation sigma over the block,
 *     at scale 1) exceeds 0.75 x the image's largest block sharpness;
 *  4. pool the kept blocks of all images: mu = nanmean, cov = covariance over rows without NaN.
 *
 * Usage: npx tsx bench/fit-niqe.ts [--data ../shared/data/natural/train] [--out models/niqe]
 */
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { readImageU8 } from '../src/engine/metrics/io';
import {
  NIQE_FEATURES,
  niqeFeatures,
  niqeGaussianWindow,
  niqeLuma,
  niqeParamsToJson,
  type NiqeParams,
} from '../src/engine/metrics/niqe';
import { covComplete, nanMean } from '../src/engine/metrics/linalg';

const SHARPNESS_THRESHOLD = 0.75;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
}

const dataDir = arg('--data', path.resolve('../shared/data/natural/train'));
const outDir = arg('--out', path.resolve('models/niqe'));
const files = readdirSync(dataDir)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort();
if (!files.length) throw new Error(`${dataDir}: no images`);
mkdirSync(outDir, { recursive: true });

const variants = [
  { file: 'niqe-params.json', name: 'daguerre-niqe-96', blockSize: 96 },
  { file: 'niqe-small-params.json', name: 'daguerre-niqe-small-32', blockSize: 32 },
];
const window = niqeGaussianWindow();
const t0 = Date.now();
const pools = variants.map(() => ({ rows: [] as Float64Array[], blocks: 0, images: 0, skipped: 0 }));
for (const f of files) {
  const luma = niqeLuma(await readImageU8(path.join(dataDir, f)));
  variants.forEach((v, k) => {
    const pool = pools[k];
    if (luma.width < v.blockSize || luma.height < v.blockSize) {
      pool.skipped++;
      return;
    }
    const { rows, sharpness } = niqeFeatures(luma, window, v.blockSize);
    let max = 0;
    for (const s of sharpness) max = Math.max(max, s);
    pool.images++;
    pool.blocks += rows.length;
    rows.forEach((r, i) => {
      if (sharpness[i] > SHARPNESS_THRESHOLD * max) pool.rows.push(r);
    });
  });
}

variants.forEach((v, k) => {
  const pool = pools[k];
  const mu = nanMean(pool.rows, NIQE_FEATURES);
  const cov = covComplete(pool.rows, NIQE_FEATURES);
  let nanRows = 0;
  for (const r of pool.rows) if (r.some((x) => Number.isNaN(x))) nanRows++;
  const p: NiqeParams = { mu, cov, window, blockSize: v.blockSize, name: v.name };
  const meta = {
    fitted_by: 'bench/fit-niqe.ts',
    fitted_at: new Date().toISOString(),
    data: path.relative(process.cwd(), dataDir) || dataDir,
    images_used: pool.images,
    images_skipped_too_small: pool.skipped,
    blocks_total: pool.blocks,
    blocks_kept: pool.rows.length,
    blocks_kept_with_nan: nanRows,
    sharpness_threshold: SHARPNESS_THRESHOLD,
    luma: 'MATLAB rgb2ycbcr Y, rounded',
    licence_note: 'Fitted by Daguerre on BSD200 (BSDS300 train) and T91 crops: research-use data.',
  };
  writeFileSync(path.join(outDir, v.file), JSON.stringify(niqeParamsToJson(p, meta), null, 1) + '\n');
  console.log(`${v.file}: ${pool.images} images, ${pool.blocks} blocks, kept ${pool.rows.length} (${nanRows} with NaN)`);
});
console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
