/** Prints the degradation estimates (src/engine/degradation.ts) on a few real and clean photos: npx tsx bench/degradation-table.ts */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeImage } from '../src/engine/image-io';
import { estimateDegradation } from '../src/engine/degradation';
import { degradeU8, cropToMultiple } from '../src/engine/metrics';

const D = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../shared/data');
const rows: string[] = ['| set | file | px | noise σ (levels) | JPEG q | blur | tint spread |', '|---|---|---|---|---|---|---|'];
async function one(set: string, file: string, lrScale = 0) {
  let { rgb } = await decodeImage(file);
  if (lrScale) rgb = degradeU8(cropToMultiple(rgb, lrScale), lrScale);
  const e = estimateDegradation(rgb, new Uint8Array(readFileSync(file)), file);
  rows.push(`| ${set} | ${path.basename(file)} | ${rgb.width}x${rgb.height} | ${e.noise.toFixed(2)} | ${e.jpegQuality ?? '-'} | ${e.blur.toFixed(3)} | ${e.tint.toFixed(2)} |`);
}
const pick = (dir: string, n: number) => readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort().slice(0, n).map((f) => path.join(dir, f));
for (const f of pick(path.join(D, 'natural/Set14'), 14)) await one('Set14 LR ×4 (clean)', f, 4);
for (const f of pick(path.join(D, 'real/lowres'), 10)) await one('real/lowres', f);
for (const f of pick(path.join(D, 'natural/B100'), 20)) await one('B100 LR ×4 (clean)', f, 4);
for (const f of pick(path.join(D, 'real/old'), 28)) await one('real/old', f);
console.log(rows.join('\n'));
