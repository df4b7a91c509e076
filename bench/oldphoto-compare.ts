/**
 * Two natural packages side by side on crops of real old photographs (no ground truth): the output
 * of each (same seed, knob, sampler) and the result's own metrics — LR-consistency (how well the
 * output, shrunk back, matches the input) and the no-reference NIQE (ours; lower = more natural).
 * Writes a sheet: input (nearest ×4) | model A | model B per crop.
 *
 *   npx tsx bench/oldphoto-compare.ts --a models --a-id natural-x4 --b <dir> --b-id natural-x4-oldphoto [--out <name>]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { runRestore } from '../src/engine/restore';
import { option } from './args';

const ROOT = path.resolve(import.meta.dirname, '..');
const opt = (k: string, d?: string) => option(k) ?? d;
const A = { dir: path.resolve(opt('--a', 'models')!), id: opt('--a-id', 'natural-x4')! };
const B = { dir: path.resolve(opt('--b')!), id: opt('--b-id')! };
const name = opt('--out', 'oldphoto-compare')!;
const OLD = path.resolve(ROOT, '../shared/data/real/old');
const crops: { file: string; region: { x: number; y: number; w: number; h: number } }[] = [
  { file: path.join(ROOT, 'samples/lincoln_1863_grey.jpg'), region: { x: 60, y: 20, w: 120, h: 130 } },
  { file: path.join(OLD, 'portrait_grey_11.png'), region: { x: 170, y: 130, w: 160, h: 160 } },
  { file: path.join(OLD, 'portrait_sepia_scratched_01.png'), region: { x: 150, y: 120, w: 160, h: 160 } },
  { file: path.join(OLD, 'couple_sepia_cracked_small_01.png'), region: { x: 100, y: 40, w: 180, h: 150 } },
  { file: path.join(OLD, 'family_sepia_03.jpg'), region: { x: 180, y: 15, w: 160, h: 130 } },
];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oldphoto-'));
const rows: string[] = ['| crop | model | LR-PSNR (dB) | NIQE (ours) | ms |', '|---|---|---|---|---|'];
const tiles: { input: Buffer; left: number; top: number }[] = [];
let top = 0;
let width = 0;
for (const c of crops) {
  const { x, y, w, h } = c.region;
  const S = 4;
  const inp = await sharp(c.file).extract({ left: x, top: y, width: w, height: h }).resize(w * S, h * S, { kernel: 'nearest' }).png().toBuffer();
  tiles.push({ input: inp, left: 0, top });
  let left = w * S + 6;
  for (const m of [A, B]) {
    const out = path.join(tmp, `${path.basename(c.file)}-${m.id}.png`);
    const r = await runRestore({ input: c.file, output: out, params: { scale: S, method: m.id, fidelity: 0.5, seed: 1, region: c.region, autoFaces: false }, format: 'png', modelDirs: [m.dir] });
    rows.push(`| ${path.basename(c.file)} ${x},${y},${w},${h} | ${m.id} | ${r.metrics.lrPsnr?.toFixed(2)} | ${r.metrics.niqe?.toFixed(2)} | ${r.durationMs} |`);
    tiles.push({ input: fs.readFileSync(out), left, top });
    left += w * S + 6;
  }
  width = Math.max(width, left);
  top += h * S + 6;
  process.stderr.write('.');
}
const sheet = await sharp({ create: { width, height: top, channels: 3, background: "#222" } }).composite(tiles).jpeg({ quality: 90 }).toBuffer();
const dir = path.join(ROOT, 'bench/results');
fs.writeFileSync(path.join(dir, `${name}.jpg`), sheet);
const md = `Columns of ${name}.jpg: input (nearest ×4) | ${A.id} | ${B.id}; ×4, knob 0.5, skipdiff, seed 1.\n\n${rows.join('\n')}\n`;
fs.writeFileSync(path.join(dir, `${name}.md`), md);
console.log('\n' + md);
