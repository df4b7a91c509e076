/**
 * Method `portrait` on the 28 old photographs at ×4: per photo, faces found/restored, time and
 * LR-consistency (plain ×4 vs portrait), and contact sheets (original with the faces outlined |
 * plain ×4 | portrait ×4, the last two as crops around the faces at output resolution).
 *
 *   npx tsx bench/faces-portrait.ts [--only name,...] [--out bench/results/faces] [--fidelity 0.5]
 *
 * Face model: models/face-x8 when it exists, else the tiny random test package (mechanics only).
 * Background: Lanczos (`--background natural`: the natural package for ×4 in models/ when it exists).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/engine/image-io';
import type { ImageU8 } from '../src/engine/image';
import { lrConsistency } from '../src/engine/metrics/index';
import { lanczosU8, portraitModels, restorePortrait } from '../src/engine/faces/portrait';
import { option } from './args';

const ROOT = path.resolve(import.meta.dirname, '..');
const OLD = path.resolve(ROOT, '../shared/data/real/old');
const only = option('--only')?.split(',') ?? null;
const outDir = option('--out') ?? path.join(ROOT, 'bench/results/faces');
const fidelity = Number(option('--fidelity') ?? 0.5);
const scale = 4;
// --face-dir DIR: a folder holding a face package to use instead of models/ (e.g. an early export).
const faceDir = option('--face-dir');
const modelDirs = [...(faceDir ? [path.resolve(faceDir)] : []), path.join(ROOT, 'models'), path.join(ROOT, 'test/fixtures/models')];

const { natural } = await portraitModels({ modelDirs: [path.join(ROOT, 'models')], scale });
const { face } = await portraitModels({ modelDirs: faceDir ? [path.resolve(faceDir)] : [path.join(ROOT, 'models')], scale });
const faceModel = face?.id ?? 'tiny-face-x8';
// Lanczos background unless asked (--background natural): a natural ×4 of 28 photos (up to 26 MP out) takes hours on CPU.
const backgroundModel = option('--background') === 'natural' ? (natural?.id ?? 'lanczos') : 'lanczos';
console.log('face model', faceModel, '| background', backgroundModel);

const files = fs.readdirSync(OLD).filter((f) => !only || only.some((o) => f.includes(o))).sort();
const rows: Record<string, unknown>[] = [];
const panels: { name: string; row: Buffer; h: number; w: number }[] = [];
const ROW_H = 300;

async function toPng(img: ImageU8): Promise<sharp.Sharp> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: img.channels as 3 }, limitInputPixels: false });
}

function label(text: string, w: number): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="18"><rect width="100%" height="100%" fill="#111"/><text x="4" y="13" font-family="sans-serif" font-size="12" fill="#eee">${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text></svg>`);
}

for (const f of files) {
  const { rgb } = await decodeImage(path.join(OLD, f));
  const t0 = performance.now();
  const r = await restorePortrait(rgb, { scale, fidelity, seed: 1, modelDirs, faceModel, backgroundModel });
  const ms = performance.now() - t0;
  // The plain ×4 is the same background the portrait was built on.
  const plain = backgroundModel === 'lanczos' ? await lanczosU8(rgb, rgb.width * scale, rgb.height * scale) : null;
  const lrPlain = plain ? lrConsistency(plain, rgb) : NaN;
  const lrPortrait = lrConsistency(r.image, rgb);
  const restored = r.info.faces.filter((x) => x.restored);
  const row = {
    photo: f,
    size: `${rgb.width}x${rgb.height}`,
    faces: r.info.faces.length,
    restored: restored.length,
    large: r.info.faces.filter((x) => /large/.test(x.reason ?? '')).length,
    ms: Math.round(ms),
    msDetect: r.info.msDetect,
    msFaces: r.info.msFaces,
    msBackground: r.info.msBackground,
    calls: r.info.calls,
    lrPsnrPlain: +lrPlain.toFixed(2),
    lrPsnrPortrait: +lrPortrait.toFixed(2),
    framePx: r.info.faces.map((x) => x.framePx),
  };
  rows.push(row);
  console.log(JSON.stringify(row));

  // Panel 1: original with faces outlined (green restored, orange left to background).
  const scaleOrig = ROW_H / rgb.height;
  const ow = Math.round(rgb.width * scaleOrig);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${rgb.width}" height="${rgb.height}">`;
  const sw = Math.max(1.5, 2 / scaleOrig);
  r.info.faces.forEach((x) => {
    svg += `<rect x="${x.box.x}" y="${x.box.y}" width="${x.box.w}" height="${x.box.h}" fill="none" stroke="${x.restored ? '#2f2' : '#fa0'}" stroke-width="${sw}"/>`;
    for (const p of x.landmarks) svg += `<circle cx="${p[0]}" cy="${p[1]}" r="${sw}" fill="#f33"/>`;
  });
  svg += '</svg>';
  const orig = await (await toPng(rgb)).composite([{ input: Buffer.from(svg) }]).png().toBuffer();
  const origS = await sharp(orig).resize(ow, ROW_H).png().toBuffer();
  // Panels 2–3: the same crop of plain and portrait, around the restored faces (or the middle).
  // Around the restored faces; else the most confident face that passed the landmark gate.
  const gated = r.info.faces.filter((x) => !/landmarks/.test(x.reason ?? '')).sort((p, q) => q.score - p.score);
  const sel = restored.length ? restored : gated.length ? [gated[0]] : r.info.faces.length ? r.info.faces : null;
  let x0: number, y0: number, x1: number, y1: number;
  if (sel) {
    x0 = Math.min(...sel.map((x) => x.box.x));
    y0 = Math.min(...sel.map((x) => x.box.y));
    x1 = Math.max(...sel.map((x) => x.box.x + x.box.w));
    y1 = Math.max(...sel.map((x) => x.box.y + x.box.h));
    // At most ~3 faces wide, so that detail stays visible.
    const fw = Math.max(...sel.map((x) => x.box.w));
    if (x1 - x0 > 4 * fw) {
      const c = sel[0];
      x0 = c.box.x;
      y0 = c.box.y;
      x1 = c.box.x + c.box.w;
      y1 = c.box.y + c.box.h;
    }
    const pad = 0.35 * Math.max(x1 - x0, y1 - y0);
    x0 = Math.max(0, x0 - pad);
    y0 = Math.max(0, y0 - pad);
    x1 = Math.min(rgb.width, x1 + pad);
    y1 = Math.min(rgb.height, y1 + pad);
  } else {
    x0 = rgb.width / 4;
    y0 = rgb.height / 4;
    x1 = (rgb.width * 3) / 4;
    y1 = (rgb.height * 3) / 4;
  }
  const crop = { left: Math.floor(x0 * scale), top: Math.floor(y0 * scale), width: Math.floor((x1 - x0) * scale), height: Math.floor((y1 - y0) * scale) };
  const cw = Math.round((crop.width * ROW_H) / crop.height);
  const plainImg = plain ?? r.image;
  const a = await (await toPng(plainImg)).extract(crop).resize(cw, ROW_H, { kernel: 'lanczos3' }).png().toBuffer();
  const b = await (await toPng(r.image)).extract(crop).resize(cw, ROW_H, { kernel: 'lanczos3' }).png().toBuffer();
  const W = ow + 2 * cw + 8;
  const text = `${f}  ${rgb.width}x${rgb.height}  faces ${row.faces} (restored ${row.restored}, large ${row.large})  ${(ms / 1000).toFixed(1)} s  LR-PSNR plain ${row.lrPsnrPlain} / portrait ${row.lrPsnrPortrait} dB`;
  const rowImg = await sharp({ create: { width: W, height: ROW_H + 18, channels: 3, background: '#222' } })
    .composite([
      { input: label(text, W), left: 0, top: 0 },
      { input: origS, left: 0, top: 18 },
      { input: a, left: ow + 4, top: 18 },
      { input: b, left: ow + cw + 8, top: 18 },
    ])
    .png()
    .toBuffer();
  panels.push({ name: f, row: rowImg, h: ROW_H + 18, w: W });
}

fs.mkdirSync(outDir, { recursive: true });
const per = 5;
const sheetNames: string[] = [];
for (let s = 0; s * per < panels.length; s++) {
  const group = panels.slice(s * per, (s + 1) * per);
  const W = Math.max(...group.map((p) => p.w));
  const H = group.reduce((a, p) => a + p.h + 6, 0);
  let y = 0;
  const comps = group.map((p) => {
    const c = { input: p.row, left: 0, top: y };
    y += p.h + 6;
    return c;
  });
  const name = `${only ? 'partial-' : ''}contact-${String(s + 1).padStart(2, '0')}.jpg`;
  await sharp({ create: { width: W, height: H, channels: 3, background: '#000' } }).composite(comps).jpeg({ quality: 90 }).toFile(path.join(outDir, name));
  sheetNames.push(name);
}
const summary = {
  date: new Date().toISOString(),
  scale,
  fidelity,
  sampler: 'skipdiff',
  faceModel,
  faceModelNote: faceModel === 'tiny-face-x8' ? 'tiny random test package: shows the mechanics only, not restoration quality' : option('--note') ?? 'trained face model',
  background: backgroundModel,
  sheets: sheetNames,
  rows,
};
fs.writeFileSync(path.join(outDir, `${only ? 'partial-' : ''}portrait-x4.json`), JSON.stringify(summary, null, 1));
let md = `Face model: ${faceModel} (${summary.faceModelNote}); background: ${backgroundModel}; ×${scale}, knob ${fidelity}, skipdiff, seed 1.\n\n| photo | size | faces | restored | large (left to bg) | time s | detect s | faces s | calls | LR-PSNR plain | LR-PSNR portrait |\n|---|---|---|---|---|---|---|---|---|---|---|\n`;
for (const r of rows as Record<string, number | string>[]) md += `| ${r.photo} | ${r.size} | ${r.faces} | ${r.restored} | ${r.large} | ${(Number(r.ms) / 1000).toFixed(1)} | ${(Number(r.msDetect) / 1000).toFixed(1)} | ${(Number(r.msFaces) / 1000).toFixed(1)} | ${r.calls} | ${r.lrPsnrPlain} | ${r.lrPsnrPortrait} |\n`;
fs.writeFileSync(path.join(outDir, `${only ? 'partial-' : ''}portrait-x4.md`), md);
console.log(md);
