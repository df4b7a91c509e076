/**
 * How much of a restored face should come from the background? `portrait` keeps the face model's detail
 * above a Gaussian low-pass and takes the background's (LR-consistent) low frequencies below it. This
 * sweeps that σ (in input pixels, `matchSigmaInputPx`; 'fixed' = the earlier σ of 8 template px) on one
 * crop of an old photo with real packages, background computed once (natural-x4), and reports the
 * LR-consistency of the whole crop and of the face boxes alone, plus a strip of the faces to look at.
 *
 *   npx tsx bench/faces-match.ts [--photo family_sepia_03.jpg] [--region 180,15,160,130] [--sigmas fixed,1,0.7,0.5,0.35]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/engine/image-io';
import { cropU8, type ImageU8 } from '../src/engine/image';
import { lrConsistency } from '../src/engine/metrics/index';
import { restorePortrait } from '../src/engine/faces/portrait';
import { option } from './args';

const ROOT = path.resolve(import.meta.dirname, '..');
const photo = option('--photo') ?? 'family_sepia_03.jpg';
const [rx, ry, rw, rh] = (option('--region') ?? '180,15,160,130').split(',').map(Number);
const sigmas = (option('--sigmas') ?? 'fixed,1,0.7,0.5,0.35').split(',').map((s) => (s === 'fixed' ? null : Number(s)));
const { rgb: full } = await decodeImage(path.resolve(ROOT, '../shared/data/real/old', photo));
const crop = (img: ImageU8, x: number, y: number, w: number, h: number): ImageU8 => cropU8(img, { x, y, w, h });
const lr = crop(full, rx, ry, rw, rh);
const modelDirs = [path.join(ROOT, 'models')];
const scale = 4;

const nat = await restorePortrait(lr, { scale, fidelity: 0.5, seed: 1, modelDirs, excludeFaces: [...Array(64).keys()] });
const boxes = nat.info.faces.map((f) => f.box);
const inBoxes = (img: ImageU8) =>
  boxes.map((b) => {
    const x = Math.max(0, Math.floor(b.x)), y = Math.max(0, Math.floor(b.y));
    const w = Math.min(rw - x, Math.ceil(b.w)), h = Math.min(rh - y, Math.ceil(b.h));
    return +lrConsistency(crop(img, x * scale, y * scale, w * scale, h * scale), crop(lr, x, y, w, h)).toFixed(2);
  });
const rows: { sigma: string; lrPsnr: number; lrPsnrFaces: number[]; image: ImageU8 }[] = [
  { sigma: 'natural only', lrPsnr: +lrConsistency(nat.image, lr).toFixed(2), lrPsnrFaces: inBoxes(nat.image), image: nat.image },
];
for (const s of sigmas) {
  const r = await restorePortrait(lr, { scale, fidelity: 0.5, seed: 1, modelDirs, maxFaceFramePx: 40, matchSigmaInputPx: s, backgroundImage: { image: nat.image, id: nat.info.background } });
  rows.push({ sigma: s === null ? 'fixed (8 template px)' : `${s} input px`, lrPsnr: +lrConsistency(r.image, lr).toFixed(2), lrPsnrFaces: inBoxes(r.image), image: r.image });
}
const md = [
  `Faces in ${photo} region ${[rx, ry, rw, rh].join(',')} ×${scale}, background ${nat.info.background}, frames ${nat.info.faces.map((f) => f.framePx).join(', ')} input px.`,
  '',
  '| low-frequency match σ | LR-PSNR crop | LR-PSNR per face box |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.sigma} | ${r.lrPsnr} | ${r.lrPsnrFaces.join(' / ')} |`),
].join('\n');
console.log(md);
// Strip: each face box (padded) per row, rows side by side.
const pad = 6;
const tiles: { input: Buffer; left: number; top: number }[] = [];
let top = 0;
const fw = Math.max(...boxes.map((b) => Math.ceil(b.w) + 2 * pad)) * scale;
const fh = Math.max(...boxes.map((b) => Math.ceil(b.h) + 2 * pad)) * scale;
for (const b of boxes) {
  rows.forEach((r, k) => {
    const x = Math.max(0, Math.floor(b.x) - pad) * scale, y = Math.max(0, Math.floor(b.y) - pad) * scale;
    const w = Math.min(r.image.width - x, fw), h = Math.min(r.image.height - y, fh);
    const c = crop(r.image, x, y, w, h);
    tiles.push({ input: sharp(Buffer.from(c.data), { raw: { width: w, height: h, channels: 3 } }).png().toBuffer() as unknown as Buffer, left: k * (fw + 4), top });
  });
  top += fh + 4;
}
const resolved = await Promise.all(tiles.map(async (t) => ({ ...t, input: await (t.input as unknown as Promise<Buffer>) })));
const out = await sharp({ create: { width: rows.length * (fw + 4), height: top, channels: 3, background: '#222' } }).composite(resolved).png().toBuffer();
const dir = path.join(ROOT, 'bench/results/faces');
fs.writeFileSync(path.join(dir, `match-${photo.replace(/\.\w+$/, '')}.png`), out);
fs.writeFileSync(path.join(dir, `match-${photo.replace(/\.\w+$/, '')}.md`), md + `\n\nColumns of match-${photo.replace(/\.\w+$/, '')}.png: ${rows.map((r) => r.sigma).join(' | ')}.\n`);
