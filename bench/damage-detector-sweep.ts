/**
 * Detector settings sweep (issue 17): the classical detector's IoU on synthetic damage over the HR crops of
 * bench/damage.ts (same pictures, kinds and seeds), the share of a clean crop it marks, and IoU against the
 * two labelled real prints, for a few settings. Prints one line per setting (about 3 min).
 *
 *   npx tsx bench/damage-detector-sweep.ts
 */
import * as fs from 'node:fs';
import { decodeImage } from '../src/engine/image-io';
import { u8ToF32, type ImageU8 } from '../src/engine/image';
import { applyDamage, detectDamage, maskFromImage, maskPixels, synthMask, DAMAGE_KINDS, type DetectOptions, type Mask } from '../src/engine/damage/index';
const D = '/work/shared/data';
const crop = (img: ImageU8, side: number): ImageU8 => { const w = Math.min(side, img.width), h = Math.min(side, img.height); const x0 = (img.width - w) >> 1, y0 = (img.height - h) >> 1; const out = new Uint8Array(w * h * 3); for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = img.data[((y0 + y) * img.width + x0 + x) * img.channels + c]; return { width: w, height: h, channels: 3, data: out }; };
const files = [...fs.readdirSync(D + '/natural/Set14').sort().map((f) => D + '/natural/Set14/' + f), ...fs.readdirSync(D + '/faces/val').sort().slice(0, 6).map((f) => D + '/faces/val/' + f)];
const imgs = await Promise.all(files.map(async (f) => crop((await decodeImage(f)).rgb, 192)));
const syn = imgs.map((img, ci) => { const kind = DAMAGE_KINDS[ci % 3]; const size = Math.floor(ci / 3) % 2 ? 'large' as const : 'small' as const; const m = synthMask(img.width, img.height, kind, size, 100 + ci); return { clean: u8ToF32(img), dmg: applyDamage(u8ToF32(img), m, kind, 100 + ci), m }; });
const real = await Promise.all(['portrait_sepia_scratched_01', 'couple_sepia_cracked_small_01'].map(async (n) => ({ img: u8ToF32((await decodeImage(`${D}/real/old/${n}.png`)).rgb), m: maskFromImage((await decodeImage(`test/fixtures/damage/${n}.mask.png`)).rgb) })));
const iou = (f: Mask, t: Mask) => { let tp = 0, u = 0; for (let i = 0; i < t.data.length; i++) { if (f.data[i] && t.data[i]) tp++; if (f.data[i] || t.data[i]) u++; } return tp / u; };
const configs: [string, DetectOptions][] = [['default', {}], ['kHigh 10', { kHigh: 10 }], ['minContrast 0.1', { minContrast: 0.1 }], ['minContrast 0.15', { minContrast: 0.15 }], ['kHigh 10 minC 0.1', { kHigh: 10, minContrast: 0.1 }], ['bright', { polarity: 'bright' }], ['bright minC 0.1', { polarity: 'bright', minContrast: 0.1 }], ['minLength 20', { minLength: 20 }]];
for (const [name, o] of configs) {
  const t0 = Date.now();
  const sIou = syn.map((s) => iou(detectDamage(s.dmg, o), s.m));
  const fp = syn.map((s) => maskPixels(detectDamage(s.clean, o)) / s.m.data.length);
  const rIou = real.map((r) => iou(detectDamage(r.img, o), r.m));
  const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
  console.log(`${name.padEnd(20)} synth IoU ${mean(sIou).toFixed(3)}  clean FP ${(100 * mean(fp)).toFixed(2)} %  real IoU ${rIou.map((x) => x.toFixed(3)).join(' / ')}  (${Date.now() - t0} ms)`);
}
