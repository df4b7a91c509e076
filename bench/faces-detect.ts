/**
 * Face detector bench on the hand-labelled old photographs (see bench/README-faces.md).
 *
 *   npx tsx bench/faces-detect.ts [--configs ssd,tiny,...] [--only name,...] [--out bench/results/faces]
 *   npx tsx bench/faces-detect.ts --proposals DIR     overlays (grid + low-threshold boxes) for labelling
 *
 * Match rule: a detection matches a label when IoU ≥ 0.3 OR the detection's centre lies inside the
 * label box and the detection's width is within ×0.5…×2 of the label's (one detection per label,
 * greedy by score). Recall = matched labels / labels; FP = detections matching no label (a
 * detection on a label marked `ignore` counts as neither).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/engine/image-io';
import { detectBoxes, faceApiBackend, iou, loadFaceApi, type Box, type DetectOptions } from '../src/engine/faces/detect';
import { option } from './args';

const OLD = path.resolve(import.meta.dirname, '../../shared/data/real/old');
const LABELS = path.resolve(import.meta.dirname, '../test/fixtures/faces/real-old-labels.json');

export const CONFIGS: Record<string, DetectOptions> = {
  'ssd-plain': { detector: 'ssd', normalise: false, tiles: false, minSide: 0 },
  'tiny-plain': { detector: 'tiny', normalise: false, tiles: false, minSide: 0 },
  'ssd-norm': { detector: 'ssd', normalise: true, tiles: false, minSide: 0 },
  'ssd-norm-up': { detector: 'ssd', normalise: true, tiles: false, minSide: 512 },
  ssd: { detector: 'ssd', tiles: true },
  tiny: { detector: 'tiny', tiles: true },
  'ssd-auto': { detector: 'ssd', tiles: 'auto' },
  'ssd-t512': { detector: 'ssd', tileSize: 512, tiles: true },
  'ssd-0.3': { detector: 'ssd', minScore: 0.3, tiles: true },
  'ssd-t512-0.3': { detector: 'ssd', tileSize: 512, minScore: 0.3, tiles: true },
};

interface Label extends Box {
  flags?: string[];
}
interface LabelFile {
  images: Record<string, { width: number; height: number; faces: Label[] }>;
}

export function matchDetections(labels: Label[], dets: (Box & { score: number })[]) {
  const used = new Set<number>();
  const byScore = dets.map((d, i) => ({ d, i })).sort((a, b) => b.d.score - a.d.score);
  const hit = new Array<number>(labels.length).fill(-1);
  const detHit = new Array<number>(dets.length).fill(-1);
  for (const { d, i } of byScore) {
    let best = -1;
    let bestV = 0;
    labels.forEach((l, j) => {
      if (used.has(j)) return;
      const cx = d.x + d.w / 2;
      const cy = d.y + d.h / 2;
      const inside = cx >= l.x && cx <= l.x + l.w && cy >= l.y && cy <= l.y + l.h && d.w > 0.5 * l.w && d.w < 2 * l.w;
      const v = Math.max(iou(d, l), inside ? 0.3 : 0);
      if (v >= 0.3 && v > bestV) {
        best = j;
        bestV = v;
      }
    });
    if (best >= 0) {
      used.add(best);
      hit[best] = i;
      detHit[i] = best;
    }
  }
  return { hit, detHit };
}

async function proposals(outDir: string, only: string[] | null) {
  fs.mkdirSync(outDir, { recursive: true });
  for (const f of fs.readdirSync(OLD).sort()) {
    if (only && !only.some((o) => f.includes(o))) continue;
    const { rgb } = await decodeImage(path.join(OLD, f));
    const a = await detectBoxes(rgb, { detector: 'ssd', minScore: 0.15 });
    const b = await detectBoxes(rgb, { detector: 'tiny', minScore: 0.15 });
    const W = rgb.width;
    const H = rgb.height;
    const step = W > 900 ? 100 : 50;
    let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">`;
    for (let x = 0; x < W; x += step) svg += `<line x1="${x}" y1="0" x2="${x}" y2="${H}" stroke="cyan" stroke-opacity="0.35" stroke-width="1"/><text x="${x + 2}" y="12" font-size="11" fill="cyan">${x}</text>`;
    for (let y = 0; y < H; y += step) svg += `<line x1="0" y1="${y}" x2="${W}" y2="${y}" stroke="cyan" stroke-opacity="0.35" stroke-width="1"/><text x="2" y="${y + 12}" font-size="11" fill="cyan">${y}</text>`;
    a.forEach((d, i) => (svg += `<rect x="${d.x}" y="${d.y}" width="${d.w}" height="${d.h}" fill="none" stroke="red" stroke-width="1.5"/><text x="${d.x}" y="${d.y - 2}" font-size="11" fill="red">s${i}:${d.score.toFixed(2)}</text>`));
    b.forEach((d, i) => (svg += `<rect x="${d.x}" y="${d.y}" width="${d.w}" height="${d.h}" fill="none" stroke="yellow" stroke-dasharray="3,2" stroke-width="1.5"/><text x="${d.x}" y="${d.y + d.h + 11}" font-size="11" fill="yellow">t${i}:${d.score.toFixed(2)}</text>`));
    svg += '</svg>';
    await sharp(Buffer.from(rgb.data), { raw: { width: W, height: H, channels: 3 } })
      .composite([{ input: Buffer.from(svg) }])
      .png()
      .toFile(path.join(outDir, f.replace(/\.\w+$/, '.png')));
    fs.writeFileSync(path.join(outDir, f.replace(/\.\w+$/, '.json')), JSON.stringify({ ssd: a, tiny: b }, null, 1));
    console.log(f, W, H, 'ssd', a.length, 'tiny', b.length);
  }
}

async function bench(configs: string[], only: string[] | null, outDir: string) {
  const labels = JSON.parse(fs.readFileSync(LABELS, 'utf8')) as LabelFile;
  await loadFaceApi();
  const backend = await faceApiBackend();
  const files = Object.keys(labels.images).filter((f) => !only || only.some((o) => f.includes(o)));
  const images = new Map<string, Awaited<ReturnType<typeof decodeImage>>['rgb']>();
  for (const f of files) images.set(f, (await decodeImage(path.join(OLD, f))).rgb);
  // Warm-up (first-call wasm compilation) outside the timings.
  for (const c of configs) await detectBoxes(images.get(files[0])!, CONFIGS[c]);
  const rows: Record<string, unknown>[] = [];
  const perImage: Record<string, Record<string, unknown>> = {};
  const tally: Record<string, { tp: number; n: number; fp: number; ms: number[]; byFlag: Record<string, [number, number]> }> = {};
  // Interleave configs per image (noisy shared machine: ratios are what to read).
  for (const f of files) {
    const img = images.get(f)!;
    const L = labels.images[f].faces;
    const counted = L.map((l) => !(l.flags ?? []).includes('ignore'));
    for (const c of configs) {
      const t0 = performance.now();
      const dets = await detectBoxes(img, CONFIGS[c]);
      const ms = performance.now() - t0;
      const { hit, detHit } = matchDetections(L, dets);
      const T = (tally[c] ??= { tp: 0, n: 0, fp: 0, ms: [], byFlag: {} });
      T.ms.push(ms);
      L.forEach((l, j) => {
        if (!counted[j]) return;
        T.n++;
        if (hit[j] >= 0) T.tp++;
        for (const fl of ['small', 'tiny', 'profile', 'damaged', 'frontal'] as const) {
          const has = fl === 'frontal' ? !(l.flags ?? []).some((x) => x === 'profile' || x === 'small' || x === 'tiny' || x === 'damaged') : (l.flags ?? []).includes(fl);
          if (!has) continue;
          const bf = (T.byFlag[fl] ??= [0, 0]);
          bf[1]++;
          if (hit[j] >= 0) bf[0]++;
        }
      });
      const fp = detHit.filter((h) => h < 0).length;
      T.fp += fp;
      (perImage[f] ??= {})[c] = { found: hit.filter((h, j) => h >= 0 && counted[j]).length, labels: counted.filter(Boolean).length, fp, ms: Math.round(ms), boxes: dets.map((d) => [Math.round(d.x), Math.round(d.y), Math.round(d.w), Math.round(d.h), +d.score.toFixed(3)]) };
      console.log(f.padEnd(42), c.padEnd(12), `${hit.filter((h, j) => h >= 0 && counted[j]).length}/${counted.filter(Boolean).length}`, 'fp', fp, `${ms.toFixed(0)} ms`);
    }
  }
  for (const c of configs) {
    const T = tally[c];
    const ms = [...T.ms].sort((a, b) => a - b);
    rows.push({ config: c, options: CONFIGS[c], recall: +(T.tp / T.n).toFixed(3), found: T.tp, labels: T.n, falsePositives: T.fp, msMedian: Math.round(ms[ms.length >> 1]), msMean: Math.round(ms.reduce((a, b) => a + b, 0) / ms.length), byFlag: T.byFlag });
  }
  fs.mkdirSync(outDir, { recursive: true });
  const stamp = { date: new Date().toISOString(), backend, machine: '2 shared cores (other jobs running): compare configs within this run only', match: 'IoU>=0.3 or centre-in-box with width ratio 0.5..2' };
  const name = option('--name') ?? (only ? 'detect-partial' : 'detect');
  fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify({ ...stamp, summary: rows, perImage }, null, 1));
  let md = `| config | recall | found/labels | false positives | ms/photo (median) | ms/photo (mean) | tiny | small | profile | damaged | frontal |\n|---|---|---|---|---|---|---|---|---|---|---|\n`;
  for (const r of rows as { config: string; recall: number; found: number; labels: number; falsePositives: number; msMedian: number; msMean: number; byFlag: Record<string, [number, number]> }[]) {
    const fl = (k: string) => (r.byFlag[k] ? `${r.byFlag[k][0]}/${r.byFlag[k][1]}` : '–');
    md += `| ${r.config} | ${r.recall.toFixed(3)} | ${r.found}/${r.labels} | ${r.falsePositives} | ${r.msMedian} | ${r.msMean} | ${fl('tiny')} | ${fl('small')} | ${fl('profile')} | ${fl('damaged')} | ${fl('frontal')} |\n`;
  }
  fs.writeFileSync(path.join(outDir, `${name}.md`), md);
  console.log(md);
}

const only = option('--only')?.split(',') ?? null;

/** Scores detections made elsewhere (bench/faces-detect-human.cjs): { images: { f: { whole, tiled, msWhole, msTiled } } }. */
async function scoreBoxes(file: string, name: string, outDir: string) {
  const labels = JSON.parse(fs.readFileSync(LABELS, 'utf8')) as LabelFile;
  const ext = JSON.parse(fs.readFileSync(file, 'utf8')) as { backend: string; images: Record<string, Record<string, unknown>> };
  let md = `| config | recall | found/labels | false positives | ms/photo (median) | ms/photo (mean) | tiny | small | profile | damaged | frontal |\n|---|---|---|---|---|---|---|---|---|---|---|\n`;
  const summary: Record<string, unknown>[] = [];
  for (const v of ['whole', 'tiled']) {
    let tp = 0;
    let n = 0;
    let fpN = 0;
    const ms: number[] = [];
    const byFlag: Record<string, [number, number]> = {};
    for (const [f, lab] of Object.entries(labels.images)) {
      const e = ext.images[f];
      const dets = (e[v] as (Box & { score: number })[]).filter((d) => d.score >= 0.4);
      ms.push(e[v === 'whole' ? 'msWhole' : 'msTiled'] as number);
      const { hit, detHit } = matchDetections(lab.faces, dets);
      lab.faces.forEach((l, j) => {
        if ((l.flags ?? []).includes('ignore')) return;
        n++;
        if (hit[j] >= 0) tp++;
        for (const fl of ['small', 'tiny', 'profile', 'damaged', 'frontal']) {
          const has = fl === 'frontal' ? !(l.flags ?? []).some((x) => x === 'profile' || x === 'small' || x === 'tiny' || x === 'damaged') : (l.flags ?? []).includes(fl);
          if (!has) continue;
          const bf = (byFlag[fl] ??= [0, 0]);
          bf[1]++;
          if (hit[j] >= 0) bf[0]++;
        }
      });
      fpN += detHit.filter((h, i) => h < 0 && !lab.faces.some((l) => (l.flags ?? []).includes('ignore') && iou(dets[i], l) > 0.3)).length;
    }
    ms.sort((a, b) => a - b);
    const fl = (k: string) => (byFlag[k] ? `${byFlag[k][0]}/${byFlag[k][1]}` : '–');
    const row = { config: `${name}-${v}`, recall: +(tp / n).toFixed(3), found: tp, labels: n, falsePositives: fpN, msMedian: Math.round(ms[ms.length >> 1]), msMean: Math.round(ms.reduce((a, b) => a + b, 0) / ms.length), byFlag };
    summary.push(row);
    md += `| ${row.config} | ${row.recall.toFixed(3)} | ${tp}/${n} | ${fpN} | ${row.msMedian} | ${row.msMean} | ${fl('tiny')} | ${fl('small')} | ${fl('profile')} | ${fl('damaged')} | ${fl('frontal')} |\n`;
  }
  fs.writeFileSync(path.join(outDir, `detect-${name}.json`), JSON.stringify({ date: new Date().toISOString(), backend: ext.backend, minScore: 0.4, summary }, null, 1));
  fs.writeFileSync(path.join(outDir, `detect-${name}.md`), md);
  console.log(md);
}

if (option('--score-boxes')) await scoreBoxes(option('--score-boxes')!, option('--name') ?? 'external', option('--out') ?? path.resolve(import.meta.dirname, 'results/faces'));
else if (option('--proposals')) await proposals(option('--proposals')!, only);
else await bench((option('--configs') ?? Object.keys(CONFIGS).join(',')).split(','), only, option('--out') ?? path.resolve(import.meta.dirname, 'results/faces'));
