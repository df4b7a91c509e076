/**
 * When is a face "large" enough to leave to the background? On faces/val (128² HR, the model's
 * framing), simulate a face whose 128² template frame spans F input pixels (F = 16, 24, 32, 48, 64:
 * HR → F by antialiased bicubic, uint8), and make the 128² output three ways:
 *   lanczos     the plain enlargement ×(128/F) (what the background gives a face);
 *   natural     the natural package ×(128/F) when models/natural-x4 exists (F = 16, 32, 64);
 *   face-16     the portrait path: F → 16 (antialiased bicubic) → face model ×8;
 *   face-lower  the face model conditioned on the F-pixel input itself (cond = bicubic ×(128/F),
 *               one pass; the model was trained on cond from 16 px, so this is off-distribution).
 * PSNR/SSIM (Y) against HR, LR-consistency against the F-pixel input.
 *
 *   npx tsx bench/faces-large.ts [--n 16] [--model models/face-x8] [--fidelity 0.5]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { ImageF32, ImageU8 } from '../src/engine/image';
import { f32ToU8, u8ToF32 } from '../src/engine/image';
import { bicubicResize, loadModel, restoreDiffusion, type ModelPackage } from '../src/engine/diffusion/index';
import { psnrY, ssimY } from '../src/engine/metrics/fullref';
import { lrConsistency, noReferenceScore } from '../src/engine/metrics/index';
import { degradeToModelInput, lanczosU8, matchLowFrequency } from '../src/engine/faces/portrait';
import { option } from './args';

const ROOT = path.resolve(import.meta.dirname, '..');
const VAL = path.resolve(ROOT, '../shared/data/faces/val');
const n = Number(option('--n') ?? 16);
const fidelity = Number(option('--fidelity') ?? 0.5);
const modelDir = option('--model') ?? (fs.existsSync(path.join(ROOT, 'models/face-x8/card.json')) ? path.join(ROOT, 'models/face-x8') : path.join(ROOT, 'test/fixtures/models/tiny-face-x8'));
const model = await loadModel(modelDir);
// The natural package too, when present: what the background gives a face when it is not Lanczos.
const natDir = option('--natural') ?? path.join(ROOT, 'models/natural-x4');
const natural = fs.existsSync(path.join(natDir, 'card.json')) ? await loadModel(natDir) : null;
const sizes = (option('--sizes') ?? '16,24,32,48,64').split(',').map(Number);
const matchSigmas = (option('--match-sigmas') ?? '0.35,0.5').split(',').map(Number);
console.log('model', model.id, 'knob', fidelity);

const files = fs.readdirSync(VAL).filter((f) => f.endsWith('.png')).sort().slice(0, n);
// Reference row: the HR faces themselves (NIQE of real 128² faces).
for (const f of files) {
  const { data } = await sharp(path.join(VAL, f)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const hr: ImageU8 = { width: 128, height: 128, channels: 3, data: new Uint8Array(data) };
  const nr = noReferenceScore(hr).score;
  if (Number.isFinite(nr)) ((globalThis as { hrNiqe?: number[] }).hrNiqe ??= []).push(nr);
}
type Acc = { psnr: number[]; ssim: number[]; lr: number[]; niqe: number[]; ms: number[] };
const acc: Record<string, Acc> = {};
const add = (k: string, hr: ImageU8, out: ImageU8, lr: ImageU8, ms: number) => {
  const a = (acc[k] ??= { psnr: [], ssim: [], lr: [], niqe: [], ms: [] });
  const nr = noReferenceScore(out).score;
  if (Number.isFinite(nr)) a.niqe.push(nr);
  a.psnr.push(psnrY(out, hr));
  a.ssim.push(ssimY(out, hr));
  a.lr.push(lrConsistency(out, lr));
  a.ms.push(ms);
};

for (const f of files) {
  const { data } = await sharp(path.join(VAL, f)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const hr: ImageU8 = { width: 128, height: 128, channels: 3, data: new Uint8Array(data) };
  const hrF: ImageF32 = { width: 128, height: 128, data: Float32Array.from(data, (v) => v / 255) };
  for (const F of sizes) {
    const lrF = degradeToModelInput(hrF, 128 / F); // F px, uint8-rounded
    const lr = f32ToU8(lrF);
    let t = performance.now();
    add(`F${F} lanczos`, hr, await lanczosU8(lr, 128, 128), lr, performance.now() - t);
    t = performance.now();
    const in16 = F === 16 ? lrF : degradeToModelInput(lrF, F / 16);
    const r16 = await restoreDiffusion(model, in16, { scale: 8, sampler: 'skipdiff', fidelity, seed: 1 });
    const ms16 = performance.now() - t;
    add(`F${F} face-16`, hr, f32ToU8(r16.image), lr, ms16);
    // What portrait blends: the face with its low frequencies (σ in input px) taken from the background
    // (natural where it makes 128/F, else Lanczos), as `matchLowFrequency` does in the pipeline.
    let bgF: ImageF32 = u8ToF32(await lanczosU8(lr, 128, 128));
    if (natural && 128 % F === 0) {
      t = performance.now();
      const rn = await restoreDiffusion(natural, lrF, { scale: 128 / F, sampler: 'skipdiff', fidelity, seed: 1 });
      add(`F${F} natural`, hr, f32ToU8(rn.image), lr, performance.now() - t);
      bgF = rn.image;
    }
    for (const sg of matchSigmas) add(`F${F} face-16+match${sg}`, hr, f32ToU8(matchLowFrequency(r16.image, bgF, sg * (128 / F), false)), lr, ms16);
    if (F !== 16 && 128 % F === 0) {
      const s = 128 / F;
      const lower: ModelPackage = { ...model, card: { ...model.card, scales: [...model.card.scales, s] } };
      t = performance.now();
      const rl = await restoreDiffusion(lower, lrF, { scale: s, sampler: 'skipdiff', fidelity, seed: 1 });
      add(`F${F} face-lower`, hr, f32ToU8(rl.image), lr, performance.now() - t);
    }
  }
  process.stderr.write('.');
}
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const hrN = (globalThis as { hrNiqe?: number[] }).hrNiqe ?? [];
let md = `HR faces: NIQE ${(hrN.reduce((a, b) => a + b, 0) / Math.max(1, hrN.length)).toFixed(2)}.\n\nModel ${model.id} (${model.card.trainedOn ?? ''}), knob ${fidelity}, skipdiff, ${files.length} faces/val images; F = input pixels spanned by the 128² template frame.\n\n| F | method | PSNR-Y | SSIM-Y | LR-PSNR | NIQE (small blocks, lower = more natural) | ms |\n|---|---|---|---|---|---|---|\n`;
const rows: Record<string, unknown>[] = [];
for (const [k, a] of Object.entries(acc)) {
  const [F, m] = k.split(' ');
  rows.push({ F: Number(F.slice(1)), method: m, psnr: +mean(a.psnr).toFixed(2), ssim: +mean(a.ssim).toFixed(4), lrPsnr: +mean(a.lr).toFixed(2), niqe: +mean(a.niqe).toFixed(3), ms: Math.round(mean(a.ms)) });
  md += `| ${F.slice(1)} | ${m} | ${mean(a.psnr).toFixed(2)} | ${mean(a.ssim).toFixed(4)} | ${mean(a.lr).toFixed(2)} | ${mean(a.niqe).toFixed(2)} | ${mean(a.ms).toFixed(0)} |\n`;
}
const out = path.join(ROOT, 'bench/results/faces');
fs.mkdirSync(out, { recursive: true });
const tag = option('--tag') ?? (model.id === 'tiny-face-x8' ? 'large-faces-tiny' : 'large-faces');
fs.writeFileSync(path.join(out, `${tag}.json`), JSON.stringify({ date: new Date().toISOString(), model: model.id, fidelity, n: files.length, rows }, null, 1));
fs.writeFileSync(path.join(out, `${tag}.md`), md);
console.log('\n' + md);
