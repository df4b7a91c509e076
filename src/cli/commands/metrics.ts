/**
 * `daguerre metrics <image> [--reference <hr>] [--lr <lr>] [--scale <n>] [--niqe-params <json>] [--json]`
 *
 * Prints every metric that applies: our no-reference score (NIQE with our own parameters, the
 * small-block variant under 192 px), NIQE with a given parameter file (e.g. the shared MATLAB one),
 * PSNR / SSIM on Y with the border shaved by the scale (with --reference), LR-consistency (with --lr).
 * Errors: one line naming the file and the reason, exit code 1.
 */
import type { Command } from 'commander';
import { readImageU8 } from '../../engine/metrics/io';
import { gmsdY, loadNiqeParams, lrConsistency, MSSSIM_MIN_SIDE, msssimY, niqe, noReferenceScore, psnrY, ssimY } from '../../engine/metrics';

export interface MetricsOpts {
  reference?: string;
  lr?: string;
  scale?: string;
  niqeParams?: string;
  json?: boolean;
}

export interface MetricsResult {
  image: string;
  width: number;
  height: number;
  noReference?: { score: number; variant: 'standard' | 'small'; blockSize: number; params: string } | { error: string };
  niqe?: { score: number; params: string; blockSize: number } | { error: string };
  reference?: string;
  scale?: number;
  psnr?: number;
  ssim?: number;
  /** MS-SSIM on Y (higher = better); absent with `msssimError` when the image is under 161 px a side. */
  msssim?: number;
  msssimError?: string;
  /** GMSD on Y (lower = better). */
  gmsd?: number;
  lr?: string;
  lrPsnr?: number;
}

export function registerMetricsCommand(program: Command): void {
  program
    .command('metrics')
    .description('image quality metrics: no-reference score (NIQE), PSNR/SSIM against a reference, LR-consistency')
    .argument('<image>', 'the image to measure (e.g. a restored output)')
    .option('--reference <hr image>', 'ground-truth image of the same size: adds PSNR and SSIM (Y channel)')
    .option('--lr <image>', 'the low-resolution input: adds LR-consistency (PSNR of the downsampled output vs the LR)')
    .option('--scale <n>', 'border shaved for PSNR/SSIM (default: the LR ratio when --lr is given, else 0)')
    .option('--niqe-params <json>', 'also compute NIQE with this parameter file (e.g. the shared MATLAB niqe_pris_params.json)')
    .option('--json', 'print JSON on stdout')
    .action(async (image: string, o: MetricsOpts, cmd: Command) => {
      const { code, result } = await runMetricsCommand(image, o);
      if (result) process.stdout.write(o.json ? JSON.stringify(result, null, 2) + '\n' : formatMetrics(result));
      cmd.parent?.setOptionValue('exitCode', code);
      if (code) process.exitCode = code;
    });
}

const fmt = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

export function formatMetrics(r: MetricsResult): string {
  const lines = [`${r.image} (${r.width}x${r.height})`];
  const nr = r.noReference;
  if (nr) lines.push('error' in nr ? `  no-reference (NIQE, ours): n/a (${nr.error})` : `  no-reference (NIQE, ours, ${nr.variant} ${nr.blockSize}px blocks; lower = better): ${fmt(nr.score, 4)}`);
  if (r.niqe) lines.push('error' in r.niqe ? `  NIQE (given params): n/a (${r.niqe.error})` : `  NIQE (${r.niqe.params}, ${r.niqe.blockSize}px blocks; lower = better): ${fmt(r.niqe.score, 4)}`);
  if (r.psnr !== undefined) lines.push(`  PSNR (Y, border ${r.scale}): ${fmt(r.psnr, 4)} dB`, `  SSIM (Y, border ${r.scale}): ${fmt(r.ssim!, 4)}`);
  if (r.psnr !== undefined) {
    lines.push(r.msssim !== undefined ? `  MS-SSIM (Y, border ${r.scale}; higher = better): ${fmt(r.msssim, 4)}` : `  MS-SSIM: n/a (${r.msssimError})`);
    lines.push(`  GMSD (Y, border ${r.scale}; lower = better): ${fmt(r.gmsd!, 4)}`);
  }
  if (r.lrPsnr !== undefined) lines.push(`  LR-consistency (PSNR Y vs ${r.lr}): ${fmt(r.lrPsnr, 4)} dB`);
  return lines.join('\n') + '\n';
}

export async function runMetricsCommand(image: string, o: MetricsOpts): Promise<{ code: number; result?: MetricsResult }> {
  const fail = (msg: string) => {
    process.stderr.write(`daguerre metrics: ${msg}\n`);
    return { code: 1 };
  };
  try {
    let scale: number | undefined;
    if (o.scale !== undefined) {
      scale = Number(o.scale);
      if (!Number.isInteger(scale) || scale < 1 || scale > 16) return fail(`--scale must be an integer from 1 to 16 (got "${o.scale}")`);
    }
    const params = o.niqeParams ? loadNiqeParams(o.niqeParams) : undefined;
    const img = await readImageU8(image);
    const r: MetricsResult = { image, width: img.width, height: img.height };
    try {
      const nr = noReferenceScore(img);
      r.noReference = nr.error ? { error: nr.error } : { score: nr.score, variant: nr.variant, blockSize: nr.blockSize, params: nr.params };
    } catch (e) {
      r.noReference = { error: (e as Error).message.split('\n')[0] };
    }
    if (params) {
      try {
        r.niqe = { score: niqe(img, params), params: params.name ?? o.niqeParams!, blockSize: params.blockSize };
      } catch (e) {
        r.niqe = { error: (e as Error).message.split('\n')[0] };
      }
    }
    if (o.lr) {
      const lr = await readImageU8(o.lr);
      const sx = img.width / lr.width;
      const sy = img.height / lr.height;
      const s = Math.floor(sx);
      if (s < 1 || Math.floor(img.width / s) !== lr.width || Math.floor(img.height / s) !== lr.height) {
        return fail(`${o.lr}: LR size ${lr.width}x${lr.height} is not ${img.width}x${img.height} divided by an integer scale (${sx.toFixed(3)} x ${sy.toFixed(3)})`);
      }
      if (scale !== undefined && scale !== s) return fail(`${o.lr}: LR is 1/${s} of the image but --scale is ${scale}`);
      scale ??= s;
      r.lr = o.lr;
      r.lrPsnr = lrConsistency(img, lr);
    }
    if (o.reference) {
      const ref = await readImageU8(o.reference);
      if (ref.width !== img.width || ref.height !== img.height) {
        return fail(`${o.reference}: reference is ${ref.width}x${ref.height} but ${image} is ${img.width}x${img.height}`);
      }
      const border = scale ?? 0;
      if (img.width - 2 * border < 11 || img.height - 2 * border < 11) return fail(`${image}: too small for SSIM after shaving ${border} px`);
      r.reference = o.reference;
      r.scale = border;
      r.psnr = psnrY(img, ref, border);
      r.ssim = ssimY(img, ref, border);
      if (Math.min(img.width, img.height) - 2 * border >= MSSSIM_MIN_SIDE) r.msssim = msssimY(img, ref, border);
      else r.msssimError = `image under ${MSSSIM_MIN_SIDE} px a side after shaving ${border} px`;
      r.gmsd = gmsdY(img, ref, border);
    }
    return { code: 0, result: r };
  } catch (e) {
    return fail((e as Error).message.split('\n')[0]);
  }
}
