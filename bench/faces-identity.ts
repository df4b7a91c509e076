/**
 * Identity distance (face-api 128-d descriptor, src/engine/faces/identity.ts) beside PSNR on aligned faces at x8,
 * bicubic protocol (antialiased bicubic ÷8, uint8): bicubic, Lanczos, face-x8 (SkipDiff knob 0.5). The descriptor box
 * is found once on the ground truth and used for every method. Writes bench/results/faces-identity.md.
 *
 *   npx tsx bench/faces-identity.ts [--set ffhq-val] [--n 16]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { f32ToU8, u8ToF32, type ImageU8 } from '../src/engine/image';
import { bicubicResize, loadModel, restoreDiffusion } from '../src/engine/diffusion/index';
import { degradeToModelInput, lanczosU8 } from '../src/engine/faces/portrait';
import { faceDescriptor, identityBox, identityDistance } from '../src/engine/faces/identity';
import { option } from './args';

const set = option('--set') ?? 'ffhq-val';
const n = Number(option('--n') ?? 16) || 16;
const DIR = path.resolve(import.meta.dirname, '../../shared/data/faces', set);
const files = fs.readdirSync(DIR).filter((f) => /\.(png|jpg)$/.test(f)).sort().slice(0, n);
const model = await loadModel(path.resolve(import.meta.dirname, '../models/face-x8'), { threads: 2 });

function psnr(a: ImageU8, b: ImageU8): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += (a.data[i] - b.data[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (s / a.data.length));
}
const methods = ['bicubic', 'lanczos', 'face-x8 knob 0.5'] as const;
const acc = Object.fromEntries(methods.map((m) => [m, { psnr: 0, id: 0, n: 0 }]));
let noBox = 0;
for (const f of files) {
  const { data, info } = await sharp(path.join(DIR, f)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const gt: ImageU8 = { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
  const box = await identityBox(gt);
  if (!box) {
    noBox++;
    continue;
  }
  const dGt = await faceDescriptor(gt, box);
  const lr = degradeToModelInput(u8ToF32(gt), 8);
  const outs: Record<string, ImageU8> = {
    bicubic: f32ToU8(bicubicResize(lr, gt.width, gt.height)),
    lanczos: await lanczosU8(f32ToU8(lr), gt.width, gt.height),
    'face-x8 knob 0.5': f32ToU8((await restoreDiffusion(model, lr, { scale: 8, sampler: 'skipdiff', fidelity: 0.5, seed: 1 })).image),
  };
  for (const m of methods) {
    acc[m].psnr += psnr(outs[m], gt);
    acc[m].id += identityDistance(await faceDescriptor(outs[m], box), dGt);
    acc[m].n++;
  }
}
const rows = methods.map((m) => `| ${m} | ${(acc[m].psnr / acc[m].n).toFixed(2)} | ${(acc[m].id / acc[m].n).toFixed(3)} |`);
const md = `# Identity distance on faces/${set} x8 (${acc.bicubic.n} faces${noBox ? `, ${noBox} without a detected face on the truth, skipped` : ''})

\`npx tsx bench/faces-identity.ts --set ${set} --n ${n}\`: the first ${n} faces, bicubic protocol (antialiased bicubic ÷8,
uint8 LR), 16² → 128². Identity: Euclidean distance between face-api's 128-d descriptors (faceRecognitionNet) of the
result and of the truth, same box (found on the truth) for every method; face-api's "same person" threshold is 0.6.
Lower is better. PSNR: RGB, whole 128² image.

| method | PSNR dB | identity distance |
|---|---|---|
${rows.join('\n')}
`;
fs.mkdirSync(path.resolve(import.meta.dirname, 'results'), { recursive: true });
fs.writeFileSync(path.resolve(import.meta.dirname, `results/faces-identity${set === 'ffhq-val' ? '' : '-' + set}.md`), md);
console.log(md);
