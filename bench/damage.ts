/**
 * Damage repair bench (issue 17). Two parts:
 *
 * 1. Detector: the classical detector (src/engine/damage/detect.ts) against the truth — synthetic damage
 *    (scratches, cracks, blotches; small and large) composited over clean low-resolution photos, and the
 *    two labelled real prints (test/fixtures/damage, made by bench/damage-labels.ts): precision, recall, IoU.
 * 2. Filling: the damaged LR photo restored ×4 by `natural-x4` (skipdiff, knob 0.5, seed 0) through
 *    runRestore, with the true mask given as a mask file, in four ways — no repair; Telea + bicubic
 *    (classical baseline); Telea pre-fill then the model without resampling (jumps 0); Telea + the
 *    model's RePaint-style resampling jumps (jumps 2, the default) — and PSNR / SSIM (Y) against the
 *    clean HR inside the mask (output-sized, nearest) and over the whole image (border 4 shaved).
 *    The clean LR restored the same way is the ceiling (what the model does without damage).
 *
 * Writes bench/results/damage.md and damage-sheet.jpg (rows: synthetic damage, real prints); with --model <id> other than natural-x4, damage-<id>.md / damage-<id>-sheet.jpg.
 *
 *   npx tsx bench/damage.ts [--n-set14 14] [--n-faces 6] [--crop 192] [--threads 1] [--detector-only]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { runRestore, type RestoreRequest } from '../src/engine/restore';
import { decodeImage } from '../src/engine/image-io';
import { f32ToU8, u8ToF32, type ImageU8 } from '../src/engine/image';
import { applyDamage, detectDamage, dilateMask, maskFromImage, maskPixels, resizeMaskNearest, synthMask, DAMAGE_KINDS, type DamageKind, type DamageSize, type Mask } from '../src/engine/damage/index';
import { rgbToY, shave, psnrPlanes, ssimPlanes, type Plane } from '../src/engine/metrics/index';
import { degradeU8 } from '../src/engine/metrics/resize';
import { option } from './args';

const ROOT = path.resolve(import.meta.dirname, '..');
const DATA = path.resolve(ROOT, '../shared/data');
const OUT = path.join(ROOT, 'bench/results');
const S = 4;
const nSet14 = Number(option('--n-set14') ?? 14);
const nFaces = Number(option('--n-faces') ?? 6);
const CROP = Number(option('--crop') ?? 192);
const threads = Number(option('--threads') ?? 1);
/** --model: the diffusion package that fills (default natural-x4); a mask-input package gets its mask fed by the engine. */
const MODEL = option('--model') ?? 'natural-x4';
/** Result files: damage.md / damage-sheet.jpg for natural-x4, damage-<model>.* for another model. */
const STEM = MODEL === 'natural-x4' ? 'damage' : `damage-${MODEL}`;
const modelDirs = [path.join(ROOT, 'models')];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'damage-bench-'));

// ---------- small helpers ----------
const centreCrop = (img: ImageU8, side: number): ImageU8 => {
  const w = Math.min(side, img.width - (img.width % S)), h = Math.min(side, img.height - (img.height % S));
  const x0 = (img.width - w) >> 1, y0 = (img.height - h) >> 1;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = img.data[((y0 + y) * img.width + x0 + x) * img.channels + c];
  return { width: w, height: h, channels: 3, data: out };
};
const rgb3 = (img: ImageU8): ImageU8 => (img.channels === 3 ? img : centreCrop(img, Math.max(img.width, img.height) + S));
const png = (img: ImageU8) => sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 } }).png();
const maskImg = (m: Mask): ImageU8 => ({ width: m.width, height: m.height, channels: 1, data: Uint8Array.from(m.data, (v) => (v ? 255 : 0)) });

/** Precision (strict and with a 1-px rim of tolerance, as the detector adds a rim on purpose), recall, IoU. */
function detScores(found: Mask, truth: Mask): { p: number; pRim: number; r: number; iou: number; tp: number; fp: number; fn: number } {
  const rim = dilateMask(truth, 1);
  let tp = 0, fp = 0, fn = 0, fpRim = 0;
  for (let i = 0; i < truth.data.length; i++) {
    const f = !!found.data[i], t = !!truth.data[i];
    if (f && t) tp++;
    else if (f) fp++;
    else if (t) fn++;
    if (f && !rim.data[i]) fpRim++;
  }
  const nf = tp + fp;
  return { p: nf ? tp / nf : NaN, pRim: nf ? (nf - fpRim) / nf : NaN, r: tp + fn ? tp / (tp + fn) : NaN, iou: tp + fp + fn ? tp / (tp + fp + fn) : NaN, tp, fp, fn };
}

/** PSNR of two Y planes over the pixels of `m` (same size). */
function psnrMasked(a: Plane, b: Plane, m: Mask): number {
  let s = 0, n = 0;
  for (let i = 0; i < m.data.length; i++) if (m.data[i]) { const d = a.data[i] - b.data[i]; s += d * d; n++; }
  return 10 * Math.log10((255 * 255) / Math.max(1e-10, s / n));
}

/** SSIM map (11×11 Gaussian σ 1.5, edge-clamped 'same' windows) averaged over the pixels of `m`. */
function ssimMasked(a: Plane, b: Plane, m: Mask): number {
  const { width: W, height: H } = a;
  const k: number[] = [];
  for (let i = -5; i <= 5; i++) k.push(Math.exp(-(i * i) / (2 * 1.5 * 1.5)));
  const ks = k.reduce((x, y) => x + y, 0);
  for (let i = 0; i < k.length; i++) k[i] /= ks;
  const blur = (v: Float64Array) => {
    const t = new Float64Array(W * H), o = new Float64Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) { let s = 0; for (let j = -5; j <= 5; j++) s += k[j + 5] * v[y * W + Math.min(W - 1, Math.max(0, x + j))]; t[y * W + x] = s; }
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) { let s = 0; for (let j = -5; j <= 5; j++) s += k[j + 5] * t[Math.min(H - 1, Math.max(0, y + j)) * W + x]; o[y * W + x] = s; }
    return o;
  };
  const n = W * H;
  const aa = new Float64Array(n), bb = new Float64Array(n), ab = new Float64Array(n);
  for (let i = 0; i < n; i++) { aa[i] = a.data[i] ** 2; bb[i] = b.data[i] ** 2; ab[i] = a.data[i] * b.data[i]; }
  const [m1, m2, s11, s22, s12] = [blur(a.data), blur(b.data), blur(aa), blur(bb), blur(ab)];
  const C1 = (0.01 * 255) ** 2, C2 = (0.03 * 255) ** 2;
  let s = 0, c = 0;
  for (let i = 0; i < n; i++) {
    if (!m.data[i]) continue;
    const v1 = s11[i] - m1[i] ** 2, v2 = s22[i] - m2[i] ** 2, v12 = s12[i] - m1[i] * m2[i];
    s += ((2 * m1[i] * m2[i] + C1) * (2 * v12 + C2)) / ((m1[i] ** 2 + m2[i] ** 2 + C1) * (v1 + v2 + C2));
    c++;
  }
  return s / c;
}

type Variant = 'none' | 'telea+bicubic' | 'telea' | 'telea+jumps' | 'clean';
const VARIANTS: Variant[] = ['none', 'telea+bicubic', 'telea', 'telea+jumps'];

async function restoreVariant(input: string, maskFile: string | null, v: Variant, tag: string, region?: { x: number; y: number; w: number; h: number }): Promise<{ img: ImageU8; ms: number; calls: number }> {
  const output = path.join(tmp, `${tag}-out-${v}.png`);
  const repair: RestoreRequest['repair'] = v === 'none' || v === 'clean' || !maskFile ? undefined : { mask: maskFile, jumps: v === 'telea+jumps' ? 2 : 0 };
  const r = await runRestore({
    input,
    output,
    format: 'png',
    modelDirs,
    threads,
    provider: 'cpu',
    params: { scale: S, method: v === 'telea+bicubic' ? 'bicubic' : MODEL, sampler: 'skipdiff', fidelity: 0.5, seed: 0, autoFaces: false, ...(region ? { region } : {}) },
    ...(repair ? { repair } : {}),
  });
  const img = (await decodeImage(output)).rgb;
  return { img, ms: r.durationMs, calls: r.calls };
}

// ---------- the synthetic set ----------
interface Case { name: string; hr: ImageU8 }
const cases: Case[] = [];
const set14 = fs.readdirSync(path.join(DATA, 'natural/Set14')).filter((f) => f.endsWith('.png')).sort().slice(0, nSet14);
for (const f of set14) cases.push({ name: `Set14/${f}`, hr: rgb3((await decodeImage(path.join(DATA, 'natural/Set14', f))).rgb) });
const faces = fs.readdirSync(path.join(DATA, 'faces/val')).filter((f) => f.endsWith('.png')).sort().slice(0, nFaces);
for (const f of faces) cases.push({ name: `faces/val/${f}`, hr: rgb3((await decodeImage(path.join(DATA, 'faces/val', f))).rgb) });

// --detector-only: the detector alone on the same pictures and damage at two resolutions, the LR (as in the
// filling bench) and the HR crop itself (scan resolution), then exit (bench/results/damage-detector.md).
if (process.argv.includes('--detector-only')) {
  const lines: string[] = [];
  for (const res of ['LR', 'HR'] as const) {
    const acc: Record<string, { p: number[]; pr: number[]; r: number[]; iou: number[]; fp: number[]; cov: number[] }> = {};
    for (const [ci, c] of cases.entries()) {
      const hr = centreCrop(c.hr, CROP);
      const img = res === 'LR' ? degradeU8(hr, S) : hr;
      const kind = DAMAGE_KINDS[ci % 3];
      const size: DamageSize = Math.floor(ci / 3) % 2 ? 'large' : 'small';
      const m = synthMask(img.width, img.height, kind, size, 100 + ci);
      const d = detScores(detectDamage(applyDamage(u8ToF32(img), m, kind, 100 + ci)), m);
      const fp = maskPixels(detectDamage(u8ToF32(img))) / (img.width * img.height);
      for (const k of ['all', kind]) {
        const a = (acc[k] ??= { p: [], pr: [], r: [], iou: [], fp: [], cov: [] });
        if (Number.isFinite(d.p)) a.p.push(d.p), a.pr.push(d.pRim);
        a.r.push(d.r); a.iou.push(d.iou); a.fp.push(fp); a.cov.push(maskPixels(m) / m.data.length);
      }
    }
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    lines.push(`### ${res === 'LR' ? `LR (crop ÷${S}, as in the filling bench)` : `HR crop (≤ ${CROP}², scan resolution)`}`, '', '| damage | images | damaged | precision | precision (1-px rim) | recall | IoU | clean FP |', '|---|---|---|---|---|---|---|---|');
    for (const [k, a] of Object.entries(acc)) lines.push(`| ${k} | ${a.r.length} | ${(100 * mean(a.cov)).toFixed(2)} % | ${mean(a.p).toFixed(3)} | ${mean(a.pr).toFixed(3)} | ${mean(a.r).toFixed(3)} | ${mean(a.iou).toFixed(3)} | ${(100 * mean(a.fp)).toFixed(2)} % |`);
    lines.push('');
  }
  const md = [`# Damage detector at two resolutions`, '', `\`npx tsx bench/damage.ts --detector-only --n-set14 ${nSet14} --n-faces ${nFaces} --crop ${CROP}\`: the same pictures, kinds, sizes and seeds as damage.md; the synthetic damage drawn at each resolution. *clean FP* = share of the undamaged picture's pixels the detector marks.`, '', ...lines].join('\n');
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'damage-detector.md'), md);
  console.log(md);
  process.exit(0);
}

interface Row { name: string; kind: DamageKind; size: DamageSize; coverage: number; det: ReturnType<typeof detScores>; detClean: number; fill: Record<Variant, { psnrIn: number; ssimIn: number; psnr: number; ssim: number; ms: number; calls: number }> }
const rows: Row[] = [];
const sheetSynth: { kind: DamageKind; tiles: ImageU8[] }[] = [];
const t0 = Date.now();
for (const [ci, c] of cases.entries()) {
  const hr = centreCrop(c.hr, CROP);
  const lr = degradeU8(hr, S);
  const kind = DAMAGE_KINDS[ci % 3];
  const size: DamageSize = Math.floor(ci / 3) % 2 ? 'large' : 'small';
  const seed = 100 + ci;
  const m = synthMask(lr.width, lr.height, kind, size, seed);
  const dmg = f32ToU8(applyDamage(u8ToF32(lr), m, kind, seed));
  const tag = `c${ci}`;
  const inFile = path.join(tmp, `${tag}-damaged.png`);
  const cleanFile = path.join(tmp, `${tag}-clean.png`);
  const maskFile = path.join(tmp, `${tag}-mask.png`);
  await png(dmg).toFile(inFile);
  await png(lr).toFile(cleanFile);
  await png(maskImg(m)).toFile(maskFile);
  const det = detScores(detectDamage(u8ToF32(dmg)), m);
  const detClean = maskPixels(detectDamage(u8ToF32(lr))) / (lr.width * lr.height);
  const M = resizeMaskNearest(m, hr.width, hr.height);
  const yHr = rgbToY(hr);
  const fill = {} as Row['fill'];
  const outs: Partial<Record<Variant, ImageU8>> = {};
  for (const v of [...VARIANTS, 'clean' as const]) {
    const r = await restoreVariant(v === 'clean' ? cleanFile : inFile, maskFile, v, tag);
    outs[v] = r.img;
    const y = rgbToY(r.img);
    fill[v] = { psnrIn: psnrMasked(y, yHr, M), ssimIn: ssimMasked(y, yHr, M), psnr: psnrPlanes(shave(y, S), shave(yHr, S)), ssim: ssimPlanes(shave(y, S), shave(yHr, S)), ms: r.ms, calls: r.calls };
  }
  rows.push({ name: c.name, kind, size, coverage: maskPixels(m) / m.data.length, det, detClean, fill });
  if (ci < 3 || (ci >= 3 && ci < 6 && sheetSynth.length < 3)) {
    const up = (img: ImageU8) => centreCrop({ ...img }, 1e9);
    const near = await sharp(Buffer.from(dmg.data), { raw: { width: dmg.width, height: dmg.height, channels: 3 } }).resize(hr.width, hr.height, { kernel: 'nearest' }).raw().toBuffer();
    const mUp = maskImg(M);
    const overlay = new Uint8Array(hr.width * hr.height * 3);
    for (let i = 0; i < mUp.data.length; i++) for (let ch = 0; ch < 3; ch++) overlay[i * 3 + ch] = mUp.data[i] ? (ch === 0 ? 255 : 40) : Math.round(near[i * 3 + ch] * 0.6);
    sheetSynth.push({ kind, tiles: [{ width: hr.width, height: hr.height, channels: 3, data: new Uint8Array(near) }, { width: hr.width, height: hr.height, channels: 3, data: overlay }, outs.none!, outs.telea!, outs['telea+jumps']!, up(hr)] });
  }
  process.stderr.write(`${c.name} ${kind}/${size}: in-mask PSNR none ${fill.none.psnrIn.toFixed(2)} telea ${fill.telea.psnrIn.toFixed(2)} jumps ${fill['telea+jumps'].psnrIn.toFixed(2)} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
}

// ---------- the real prints ----------
const REAL = [
  { file: 'portrait_sepia_scratched_01.png', region: null as null | { x: number; y: number; w: number; h: number } },
  { file: 'couple_sepia_cracked_small_01.png', region: null as null | { x: number; y: number; w: number; h: number } },
];
const realRows: { file: string; det: ReturnType<typeof detScores>; labelCoverage: number; region: { x: number; y: number; w: number; h: number }; ms: Record<string, number> }[] = [];
const sheetReal: { file: string; tiles: ImageU8[] }[] = [];
const RS = 96; // LR crop side for the real rows
for (const r of REAL) {
  const file = path.join(DATA, 'real/old', r.file);
  const labelFile = path.join(ROOT, 'test/fixtures/damage', r.file.replace(/\.png$/, '.mask.png'));
  const img = (await decodeImage(file)).rgb;
  const label = maskFromImage((await decodeImage(labelFile)).rgb);
  const found = detectDamage(u8ToF32(img));
  const det = detScores(found, label);
  // The RS×RS crop with the most labelled damage (a coarse search), for the sheet and the fill run.
  let best = { x: 0, y: 0, n: -1 };
  for (let y = 0; y + RS <= img.height; y += 16) for (let x = 0; x + RS <= img.width; x += 16) {
    let n = 0;
    for (let j = 0; j < RS; j++) for (let i = 0; i < RS; i++) if (label.data[(y + j) * img.width + x + i]) n++;
    if (n > best.n) best = { x, y, n };
  }
  const region = { x: best.x, y: best.y, w: RS, h: RS };
  const foundFile = path.join(tmp, `${r.file}-found.mask.png`);
  await png(maskImg(found)).toFile(foundFile);
  const ms: Record<string, number> = {};
  const tiles: ImageU8[] = [];
  const crop = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels as 3 } }).extract({ left: region.x, top: region.y, width: RS, height: RS }).resize(RS * S, RS * S, { kernel: 'nearest' }).raw().toBuffer();
  tiles.push({ width: RS * S, height: RS * S, channels: 3, data: new Uint8Array(crop) });
  for (const mm of [label, found]) {
    const ov = new Uint8Array(RS * S * RS * S * 3);
    for (let y = 0; y < RS * S; y++) for (let x = 0; x < RS * S; x++) {
      const on = mm.data[(region.y + Math.floor(y / S)) * img.width + region.x + Math.floor(x / S)];
      const i = (y * RS * S + x) * 3;
      for (let ch = 0; ch < 3; ch++) ov[i + ch] = on ? (ch === 0 ? 255 : 40) : Math.round(crop[i + ch] * 0.6);
    }
    tiles.push({ width: RS * S, height: RS * S, channels: 3, data: ov });
  }
  for (const v of ['none', 'telea', 'telea+jumps'] as Variant[]) {
    const o = await restoreVariant(file, labelFile, v, `real-${r.file}`, region);
    ms[v] = o.ms;
    tiles.push(o.img);
  }
  realRows.push({ file: r.file, det, labelCoverage: maskPixels(label) / label.data.length, region, ms });
  sheetReal.push({ file: r.file, tiles });
  process.stderr.write(`${r.file}: detector P ${det.p.toFixed(3)} R ${det.r.toFixed(3)} IoU ${det.iou.toFixed(3)}\n`);
}

// ---------- the sheet ----------
const GAP = 6;
const rowsAll = [...sheetSynth.map((s) => s.tiles), ...sheetReal.map((s) => s.tiles)];
const composites: sharp.OverlayOptions[] = [];
let top = 0, width = 0;
for (const tiles of rowsAll) {
  let left = 0, h = 0;
  for (const t of tiles) {
    composites.push({ input: await png(t).toBuffer(), left, top });
    left += t.width + GAP;
    h = Math.max(h, t.height);
  }
  width = Math.max(width, left);
  top += h + GAP;
}
fs.mkdirSync(OUT, { recursive: true });
await sharp({ create: { width, height: top, channels: 3, background: '#222' } }).composite(composites).jpeg({ quality: 90 }).toFile(path.join(OUT, `${STEM}-sheet.jpg`));

// ---------- the table ----------
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
const fillTable = (rs: Row[]) => {
  const lines = ['| method | PSNR in mask | SSIM in mask | PSNR all | SSIM all | calls | ms / image |', '|---|---|---|---|---|---|---|'];
  for (const v of [...VARIANTS, 'clean' as const]) {
    const label = v === 'clean' ? 'ceiling: clean LR, no damage' : v === 'none' ? 'none (damaged LR, no repair)' : v === 'telea+bicubic' ? 'Telea + bicubic (classical)' : v === 'telea' ? `Telea + ${MODEL} (jumps 0)` : `Telea + ${MODEL} + resampling jumps (2)`;
    lines.push(`| ${label} | ${f2(mean(rs.map((r) => r.fill[v].psnrIn)))} | ${f3(mean(rs.map((r) => r.fill[v].ssimIn)))} | ${f2(mean(rs.map((r) => r.fill[v].psnr)))} | ${f3(mean(rs.map((r) => r.fill[v].ssim)))} | ${Math.round(mean(rs.map((r) => r.fill[v].calls)))} | ${Math.round(mean(rs.map((r) => r.fill[v].ms)))} |`);
  }
  return lines.join('\n');
};
const detLine = (name: string, rs: Row[]) => `| ${name} | ${rs.length} | ${(100 * mean(rs.map((r) => r.coverage))).toFixed(2)} % | ${f3(mean(rs.map((r) => r.det.p).filter(Number.isFinite)))} | ${f3(mean(rs.map((r) => r.det.pRim).filter(Number.isFinite)))} | ${f3(mean(rs.map((r) => r.det.r)))} | ${f3(mean(rs.map((r) => r.det.iou)))} | ${(100 * mean(rs.map((r) => r.detClean))).toFixed(2)} % |`;
const md = [
  `# Damage repair bench (issue 17)`,
  ``,
  `\`npx tsx bench/damage.ts --n-set14 ${nSet14} --n-faces ${nFaces} --crop ${CROP} --threads ${threads}\` — ${((Date.now() - t0) / 60000).toFixed(1)} min on this machine.`,
  ``,
  `Synthetic set: ${set14.length} Set14 + ${faces.length} faces/val images, centre crops ≤ ${CROP}², LR = antialiased bicubic ÷${S}; on each LR one synthetic damage (kinds cycle scratches → cracks → blotches, sizes small/large alternate per 3 images; \`synthMask\` + \`applyDamage\`, seed 100 + i). Restores ×${S} through \`runRestore\` with the **true** mask as a mask file; \`${MODEL}\` skipdiff, knob 0.5, seed 0, CPU, ${threads} thread(s). PSNR/SSIM on Y (MATLAB), against the clean HR; *in mask* = the output pixels of the nearest-upscaled mask (SSIM: mean of an 11×11 Gaussian SSIM map over them), *all* = whole image, border ${S} shaved.`,
  ``,
  `## Filling (all ${rows.length} images)`,
  ``,
  fillTable(rows),
  ``,
  ...DAMAGE_KINDS.flatMap((k) => [`### ${k} (${rows.filter((r) => r.kind === k).length} images)`, ``, fillTable(rows.filter((r) => r.kind === k)), ``]),
  `## Detector`,
  ``,
  `Precision strict and with a 1-px rim of tolerance (the detector adds a 1-px rim on purpose); recall and IoU strict. *clean FP* = share of a clean LR's pixels the detector marks.`,
  ``,
  `| set | images | damaged | precision | precision (1-px rim) | recall | IoU | clean FP |`,
  `|---|---|---|---|---|---|---|---|`,
  detLine('synthetic, all', rows),
  ...DAMAGE_KINDS.map((k) => detLine(`synthetic, ${k}`, rows.filter((r) => r.kind === k))),
  ``,
  `Real prints (labels: test/fixtures/damage, bench/damage-labels.ts; labels are already 1-px dilated):`,
  ``,
  `| print | labelled | precision | recall | IoU |`,
  `|---|---|---|---|---|`,
  ...realRows.map((r) => `| ${r.file} | ${(100 * r.labelCoverage).toFixed(2)} % | ${f3(r.det.p)} | ${f3(r.det.r)} | ${f3(r.det.iou)} |`),
  ``,
  `## Per image`,
  ``,
  `| image | damage | covered | det P / R / IoU | PSNR in mask: none / Telea+bicubic / Telea / Telea+jumps / ceiling |`,
  `|---|---|---|---|---|`,
  ...rows.map((r) => `| ${r.name} | ${r.kind} ${r.size} | ${(100 * r.coverage).toFixed(1)} % | ${f3(r.det.p)} / ${f3(r.det.r)} / ${f3(r.det.iou)} | ${VARIANTS.map((v) => f2(r.fill[v].psnrIn)).join(' / ')} / ${f2(r.fill.clean.psnrIn)} |`),
  ``,
  `## Contact sheet`,
  ``,
  `\`${STEM}-sheet.jpg\`: first ${sheetSynth.length} rows synthetic (${sheetSynth.map((s) => s.kind).join(', ')}): damaged LR (nearest ×${S}) | mask (red) | none | Telea + ${MODEL} | Telea + jumps | clean HR. Last ${sheetReal.length} rows real prints, the ${RS}² crop with the most labelled damage (${realRows.map((r) => `${r.file} at ${r.region.x},${r.region.y}`).join('; ')}): input (nearest ×${S}) | label mask (red) | detector's mask (red) | none | Telea + ${MODEL} | Telea + jumps (label mask).`,
  ``,
].join('\n');
fs.writeFileSync(path.join(OUT, `${STEM}.md`), md);
fs.rmSync(tmp, { recursive: true, force: true });
console.log(md);
