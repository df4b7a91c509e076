/**
 * Measures the face model's 5-point template from how faces/train is framed: runs the detector and
 * landmark net on training faces (each 128² face placed in the middle of a 256² canvas filled with
 * its mean colour, so the detector sees the whole head with context), takes the 5 points back to
 * the 128² frame, and averages them. Writes src/engine/faces/template.ts.
 *
 *   npx tsx bench/faces-template.ts [--n 300]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { detectFaces, type Point } from '../src/engine/faces/detect';
import { option } from './args';

const TRAIN = path.resolve(import.meta.dirname, '../../shared/data/faces/train');
const OUT = path.resolve(import.meta.dirname, '../src/engine/faces/template.ts');
const n = Number(option('--n') ?? 300) || 300;

const files = fs.readdirSync(TRAIN).filter((f) => f.endsWith('.jpg')).sort();
// Evenly spaced over the (stratified, shuffled) train set.
const pick = Array.from({ length: n }, (_, i) => files[Math.floor((i * files.length) / n)]);
const pts: Point[][] = [];
let missed = 0;
const t0 = performance.now();
for (const f of pick) {
  const { data } = await sharp(path.join(TRAIN, f)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const mean = [0, 0, 0];
  for (let i = 0; i < 128 * 128; i++) for (let k = 0; k < 3; k++) mean[k] += data[i * 3 + k] / (128 * 128);
  const canvas = new Uint8Array(256 * 256 * 3);
  for (let i = 0; i < 256 * 256; i++) for (let k = 0; k < 3; k++) canvas[i * 3 + k] = Math.round(mean[k]);
  for (let y = 0; y < 128; y++) canvas.set(data.subarray(y * 384, (y + 1) * 384), ((y + 64) * 256 + 64) * 3);
  const faces = await detectFaces({ width: 256, height: 256, channels: 3, data: canvas }, { detector: 'ssd', tiles: false, minScore: 0.5 });
  // The face nearest the centre.
  const best = faces.sort((a, b) => Math.hypot(a.box.x + a.box.w / 2 - 128, a.box.y + a.box.h / 2 - 128) - Math.hypot(b.box.x + b.box.w / 2 - 128, b.box.y + b.box.h / 2 - 128))[0];
  if (!best || Math.hypot(best.box.x + best.box.w / 2 - 128, best.box.y + best.box.h / 2 - 128) > 40) {
    missed++;
    continue;
  }
  pts.push(best.landmarks.map((p) => [p[0] - 64, p[1] - 64] as Point));
}
const mean = [0, 1, 2, 3, 4].map((k) => [pts.reduce((a, p) => a + p[k][0], 0) / pts.length, pts.reduce((a, p) => a + p[k][1], 0) / pts.length] as Point);
const std = [0, 1, 2, 3, 4].map((k) => [Math.sqrt(pts.reduce((a, p) => a + (p[k][0] - mean[k][0]) ** 2, 0) / pts.length), Math.sqrt(pts.reduce((a, p) => a + (p[k][1] - mean[k][1]) ** 2, 0) / pts.length)]);
// Median too (robust to a few bad landmark fits).
const med = [0, 1, 2, 3, 4].map((k) => [0, 1].map((c) => pts.map((p) => p[k][c]).sort((a, b) => a - b)[pts.length >> 1]));
const r = (v: number) => Math.round(v * 100) / 100;
const doc = {
  size: 128,
  points: mean.map((p) => p.map(r)),
  order: ['image-left eye centre', 'image-right eye centre', 'nose tip', 'image-left mouth corner', 'image-right mouth corner'],
  how: `Mean of the 5 points (face-api 68-point landmarks → eye centres 36–41/42–47, nose tip 30, mouth corners 48/54) detected on ${pts.length} of ${n} faces/train images (evenly spaced over the set; each 128² face centred on a 256² canvas of its mean colour; SSD-MobileNetV1, score ≥ 0.5; ${missed} not found). bench/faces-template.ts.`,
  measuredOn: pts.length,
  missed,
  std: std.map((p) => p.map(r)),
  median: med.map((p) => p.map(r)),
};
fs.writeFileSync(OUT, `/** The face model's 5-point template (128² frame), measured by bench/faces-template.ts; do not edit by hand. */\nexport const TEMPLATE_128 = ${JSON.stringify(doc, null, 1)};\n`);
console.log(JSON.stringify(doc, null, 1), `${((performance.now() - t0) / 1000).toFixed(0)} s`);
