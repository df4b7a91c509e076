/**
 * fp32 vs reduced-precision denoisers, side by side in one run (never a test):
 *   npx tsx bench/int8/compare.ts --set <folder> --scale 4 [--crop 256] [--n 14] [--knob 0.5] [--seed 0]
 *       --base models/natural-x4 --variant int8=<file.onnx> [--variant name=<file.onnx> ...] [--threads 2] [--json out.json] [--md out.md]
 *
 * Each HR image is cropped (centre, ≤ --crop), cropped to a multiple of the scale and degraded by the
 * bench's protocol (antialiased bicubic down, uint8); the base package and each variant (the same
 * package with its denoiser file swapped) restore it with skipdiff at --knob and the same seed, in an
 * order rotated from image to image. Per model: mean PSNR (Y, border = scale) and NIQE (ours) and
 * their deltas to the base (mean and the worst image), the largest pixel difference to the base's
 * output, and the median wall ms per image with its ratio to the base's (same run).
 */
import { writeFileSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel, restoreDiffusion, type ModelPackage } from '../../src/engine/diffusion/index';
import { cropU8, f32ToU8, u8ToF32, type ImageU8 } from '../../src/engine/image';
import { cropToMultiple, degradeU8, noReferenceScore, psnrY } from '../../src/engine/metrics';
import { readImageU8 } from '../../src/engine/metrics/io';

const args = process.argv.slice(2);
const arg = (k: string, d?: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const fail = (m: string): never => {
  process.stderr.write(`compare: ${m}\n`);
  process.exit(2);
};
const set = arg('--set') ?? fail('--set is required');
const scale = Number(arg('--scale') ?? fail('--scale is required'));
const crop = Number(arg('--crop', '0'));
const nMax = Number(arg('--n', '1000'));
const knob = Number(arg('--knob', '0.5'));
const seed = Number(arg('--seed', '0'));
const threads = Number(arg('--threads', '2'));
const base = arg('--base') ?? fail('--base is required');
const variants = args.flatMap((a, i) => (a === '--variant' ? [args[i + 1]] : [])).map((v) => {
  const k = v.indexOf('=');
  if (k < 1) fail(`--variant ${v}: expected name=<file.onnx>`);
  return { name: v.slice(0, k), file: v.slice(k + 1) };
});

function toRgb(img: ImageU8): ImageU8 {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = img.data[i * img.channels];
  return { width: img.width, height: img.height, channels: 3, data: out };
}
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function withDenoiser(m: ModelPackage, file: string): Promise<ModelPackage> {
  const denoiser = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  return { ...m, denoiser };
}

async function main() {
  const baseModel = await loadModel(base, { threads });
  const models: { name: string; model: ModelPackage }[] = [{ name: 'fp32 (shipped)', model: baseModel }];
  for (const v of variants) models.push({ name: v.name, model: await withDenoiser(baseModel, v.file) });
  const files = readdirSync(set).filter((f) => /\.(png|jpe?g|bmp|tiff?)$/i.test(f)).sort().slice(0, nMax);
  if (!files.length) fail(`${set}: no images`);
  const rows = models.map(() => [] as { file: string; psnr: number; niqe: number; ms: number; maxDiff: number }[]);
  for (let i = 0; i < files.length; i++) {
    let hr = toRgb(await readImageU8(path.join(set, files[i])));
    if (crop > 0 && (hr.width > crop || hr.height > crop)) {
      const w = Math.min(crop, hr.width);
      const h = Math.min(crop, hr.height);
      hr = cropU8(hr, { x: Math.floor((hr.width - w) / 2), y: Math.floor((hr.height - h) / 2), w, h });
    }
    hr = cropToMultiple(hr, scale);
    const lr = degradeU8(hr, scale);
    if (i === 0) for (const m of models) await restoreDiffusion(m.model, u8ToF32(lr), { scale, sampler: 'ddim:1', fidelity: 0, seed }); // warm-up
    const outs: (ImageU8 | null)[] = models.map(() => null);
    const order = models.map((_, k) => (k + i) % models.length);
    for (const k of order) {
      const t0 = performance.now();
      const r = await restoreDiffusion(models[k].model, u8ToF32(lr), { scale, sampler: 'skipdiff', fidelity: knob, seed: seed + i });
      const ms = performance.now() - t0;
      const out = f32ToU8(r.image);
      outs[k] = out;
      rows[k].push({ file: files[i], psnr: psnrY(out, hr, scale), niqe: noReferenceScore(out).score, ms, maxDiff: 0 });
    }
    for (let k = 1; k < models.length; k++) {
      let d = 0;
      const a = outs[0]!.data;
      const b = outs[k]!.data;
      for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j] - b[j]));
      rows[k][i].maxDiff = d;
    }
    process.stderr.write(`[${i + 1}/${files.length}] ${files[i]} ${hr.width}x${hr.height}\n`);
  }
  const b = rows[0];
  const summary = models.map((m, k) => {
    const r = rows[k];
    const dP = r.map((x, i) => x.psnr - b[i].psnr);
    const dN = r.map((x, i) => x.niqe - b[i].niqe);
    return {
      name: m.name,
      n: r.length,
      psnr: mean(r.map((x) => x.psnr)),
      niqe: mean(r.map((x) => x.niqe)),
      dPsnr: mean(dP),
      dPsnrWorst: Math.min(...dP),
      dNiqe: mean(dN),
      dNiqeWorst: Math.max(...dN),
      maxDiff: Math.max(...r.map((x) => x.maxDiff)),
      msMedian: median(r.map((x) => x.ms)),
      speedup: median(b.map((x) => x.ms)) / median(r.map((x) => x.ms)),
      perImage: r,
    };
  });
  const f = (v: number, d: number) => (v >= 0 ? ' ' : '') + v.toFixed(d);
  const md = [
    `${set} ×${scale}${crop ? ` (centre crops ≤ ${crop}²)` : ''}, ${files.length} images, skipdiff:${knob}, seed ${seed}, ${threads} threads, ${new Date().toISOString()} (\`bench/int8/compare.ts\`, one run, order rotated per image)`,
    '',
    '| denoiser | PSNR Y (dB) | Δ PSNR mean (worst image) | NIQE (ours) | Δ NIQE mean (worst image) | max pixel diff to fp32 | median ms / image | speed vs fp32 |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...summary.map(
      (s) =>
        `| ${s.name} | ${s.psnr.toFixed(3)} | ${f(s.dPsnr, 3)} (${f(s.dPsnrWorst, 3)}) | ${s.niqe.toFixed(3)} | ${f(s.dNiqe, 3)} (${f(s.dNiqeWorst, 3)}) | ${s.maxDiff} | ${s.msMedian.toFixed(0)} | ${s.speedup.toFixed(2)}× |`,
    ),
  ].join('\n');
  process.stdout.write(md + '\n');
  const jsonOut = arg('--json');
  const mdOut = arg('--md');
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ set, scale, crop, knob, seed, threads, base, variants, summary }, null, 1) + '\n');
  if (mdOut) writeFileSync(mdOut, md + '\n');
}

main().catch((e) => {
  process.stderr.write(`compare: ${(e as Error).message}\n`);
  process.exit(1);
});
