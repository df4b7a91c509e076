/**
 * Makes the labelled damage masks of test/fixtures/damage/ from two real scanned prints: pixels
 * brighter than their 15×15 local median by more than `t` (the damage on these prints is lost
 * emulsion: bright), inside hand-chosen include polygons and outside hand-chosen exclude polygons
 * (faces' highlights, the collar insignia, the torn white border), then a 1-px dilation. The polygons
 * were chosen by looking at the photos; re-running gives the same PNGs.
 *
 *   npx tsx bench/damage-labels.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/engine/image-io';
import { u8ToF32 } from '../src/engine/image';
import { dilateMask, luminance } from '../src/engine/damage/mask';
import { components } from '../src/engine/damage/detect';

type Poly = [number, number][];
interface Label { file: string; t: number; exclude: Poly[]; minArea: number }

const rect = (x0: number, y0: number, x1: number, y1: number): Poly => [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
export const LABELS: Label[] = [
  {
    file: 'couple_sepia_cracked_small_01.png',
    t: 0.07,
    minArea: 6,
    // faces (eyes, nose highlights), the collar insignia
    exclude: [rect(100, 95, 165, 190), rect(205, 35, 275, 140), rect(225, 140, 320, 200)],
  },
  {
    file: 'portrait_sepia_scratched_01.png',
    t: 0.08,
    minArea: 6,
    // the bow, the face, the hand and cigarette, the torn border strip
    exclude: [rect(135, 130, 235, 220), rect(200, 180, 370, 330), rect(270, 320, 420, 620), rect(0, 0, 496, 12), rect(0, 0, 14, 624), rect(482, 0, 496, 624), rect(0, 610, 496, 624)],
  },
];

function inPoly(x: number, y: number, p: Poly): boolean {
  let c = false;
  for (let i = 0, j = p.length - 1; i < p.length; j = i++) {
    const [xi, yi] = p[i], [xj, yj] = p[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

function localMedian(L: Float32Array, W: number, H: number, r: number): Float32Array {
  const out = new Float32Array(W * H);
  const hist = new Int32Array(64);
  for (let y = 0; y < H; y++) {
    hist.fill(0);
    let n = 0;
    const add = (x: number, s: number) => {
      for (let j = y - r; j <= y + r; j++) {
        const yy = Math.min(H - 1, Math.max(0, j));
        const xx = Math.min(W - 1, Math.max(0, x));
        hist[Math.min(63, Math.floor(L[yy * W + xx] * 64))] += s;
        n += s;
      }
    };
    for (let x = -r; x <= r; x++) add(x, 1);
    for (let x = 0; x < W; x++) {
      let acc = 0, b = 0;
      while (b < 63 && acc + hist[b] <= n / 2) acc += hist[b++];
      out[y * W + x] = (b + 0.5) / 64;
      add(x - r, -1);
      add(x + r + 1, 1);
    }
  }
  return out;
}

export async function makeLabel(l: Label, dataDir: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { rgb } = await decodeImage(path.join(dataDir, l.file));
  const img = u8ToF32(rgb);
  const W = img.width, H = img.height;
  const L = luminance(img);
  const med = localMedian(L, W, H, 7);
  const m = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const i = y * W + x;
    if (L[i] - med[i] > l.t && !l.exclude.some((p) => inPoly(x + 0.5, y + 0.5, p))) m[i] = 1;
  }
  const { labels, stats } = components(m, W, H);
  for (let i = 0; i < m.length; i++) m[i] = labels[i] && stats[labels[i]].area >= l.minArea ? 255 : 0;
  return dilateMask({ width: W, height: H, data: m }, 1);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(import.meta.dirname, '..');
  const dataDir = path.resolve(root, '../shared/data/real/old');
  const out = path.join(root, 'test/fixtures/damage');
  fs.mkdirSync(out, { recursive: true });
  for (const l of LABELS) {
    const m = await makeLabel(l, dataDir);
    const f = path.join(out, l.file.replace(/\.\w+$/, '.mask.png'));
    await sharp(Buffer.from(m.data), { raw: { width: m.width, height: m.height, channels: 1 } }).png({ compressionLevel: 9, palette: true, colours: 2 }).toFile(f);
    let n = 0;
    for (const v of m.data) if (v) n++;
    console.log(`${f}: ${m.width}×${m.height}, ${((100 * n) / m.data.length).toFixed(2)} % damaged`);
  }
}
