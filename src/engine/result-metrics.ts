/**
 * The metrics recorded with every result: LR-consistency (PSNR between the output degraded back to
 * the input's size and the input) and the no-reference score (NIQE with our own parameters; for
 * outputs larger than 1024² it is computed on the central 1024² crop to keep it a few seconds).
 */
import type { ImageU8 } from './image';
import { lrConsistency, noReferenceScore } from './metrics/index';

const NIQE_MAX_SIDE = 1024;

function centreCrop(img: ImageU8, max: number): ImageU8 {
  if (img.width <= max && img.height <= max) return img;
  const w = Math.min(max, img.width);
  const h = Math.min(max, img.height);
  const x0 = Math.floor((img.width - w) / 2);
  const y0 = Math.floor((img.height - h) / 2);
  const out = new Uint8Array(w * h * img.channels);
  for (let y = 0; y < h; y++) {
    const s = ((y0 + y) * img.width + x0) * img.channels;
    out.set(img.data.subarray(s, s + w * img.channels), y * w * img.channels);
  }
  return { width: w, height: h, channels: img.channels, data: out };
}

export async function resultMetrics(output: ImageU8, lr: ImageU8): Promise<Record<string, number>> {
  const m: Record<string, number> = {};
  m.lrPsnr = Math.round(lrConsistency(output, lr) * 1000) / 1000;
  // NIQE needs at least one block per scale; tiny outputs get none.
  if (output.width >= 64 && output.height >= 64) {
    const nr = noReferenceScore(centreCrop(output, NIQE_MAX_SIDE));
    if (Number.isFinite(nr.score)) {
      m.niqe = Math.round(nr.score * 1000) / 1000;
      m.niqeBlock = nr.blockSize;
    }
  }
  return m;
}
