/**
 * Damage repair inside a pass (DiffusionOptions.repair):
 *
 *   mask input     a package whose denoiser takes the mask (card hasMaskInput, issue 17 item 2) gets
 *                  each tile's window of the pass's output-sized mask as its `mask` input
 *                  (tileMaskInto; zeros when nothing is repaired) and by default no jumps: it was
 *                  trained to regenerate the masked pixels from their context
 *   jumps          RePaint-style resampling (the default, 2, for packages without the input): after
 *                  each denoiser call at level ᾱ, the lanes whose tile holds damaged pixels get `jumps`
 *                  more calls at the same level, each after the damaged pixels of x were replaced by
 *                  the latest x̂₀ noised back to ᾱ (fresh noise from the lane's own jump stream); pixels
 *                  outside the mask keep the sampler's own trajectory. No jumps at ᾱ ≈ 1.
 */
import { hasMaskInput, type ModelCard } from '../../shared/card';
import type { Mask } from '../damage/mask';
import { Rng } from './rng';
import type { Lane, ModelFn } from './samplers';
import { x0FromEps } from './schedule';

/** Resampling jumps when the caller names none: 0 for a denoiser with the mask input, else 2. */
export function defaultJumps(card: Pick<ModelCard, 'io'>): number {
  return hasMaskInput(card) ? 0 : 2;
}

/**
 * The tile's window of the output-sized `mask` (width W; reflected pixel columns / rows `cols` /
 * `rows`, as the conditioning is sampled) as 1 / 0 floats into `out` (rows·cols); all zeros without a
 * mask. Returns whether any pixel is damaged.
 */
export function tileMaskInto(mask: Mask | null, W: number, cols: Int32Array, rows: Int32Array, out: Float32Array): boolean {
  if (!mask) {
    out.fill(0);
    return false;
  }
  const tw = cols.length;
  let any = false;
  for (let j = 0; j < rows.length; j++) {
    const row = rows[j] * W;
    for (let k = 0; k < tw; k++) if ((out[j * tw + k] = mask.data[row + cols[k]] ? 1 : 0)) any = true;
  }
  return any;
}

export interface TileRepair {
  /** Lane `lane` now holds the tile whose reflected pixel columns / rows are `cols` / `rows`. */
  setTile(lane: number, cols: Int32Array, rows: Int32Array, stream: number): void;
  /** `step` followed by the jumps, for lanes `lanes()` (the current batch). */
  wrap(step: ModelFn, lanes: () => readonly Lane[]): ModelFn;
}

/**
 * Repair of a pass with the output-sized `mask` (of width W) and `jumps` per call, over `B` lanes of
 * th×tw tiles; jump noise of a tile comes from Rng(seed, 2^52 + stream), apart from the sampler's
 * streams (below 2^52).
 */
export function tileRepair(mask: Mask, W: number, jumps: number, B: number, tw: number, th: number, seed: number): TileRepair {
  const plane = tw * th;
  const chw = 3 * plane;
  // Per lane: the tile's mask plane (null: no damaged pixel) and its jump noise stream.
  const tileMasks: (Uint8Array | null)[] = Array.from({ length: B }, () => null);
  const jumpRngs: Rng[] = [];
  return {
    setTile(lane, cols, rows, stream) {
      const tm = new Uint8Array(plane);
      let any = false;
      for (let j = 0; j < th; j++) {
        const row = rows[j] * W;
        for (let k = 0; k < tw; k++) if ((tm[j * tw + k] = mask.data[row + cols[k]] ? 1 : 0)) any = true;
      }
      tileMasks[lane] = any ? tm : null;
      jumpRngs[lane] = new Rng(seed, 2 ** 52 + stream);
    },
    wrap(step, lanesOf) {
      return async (members, ab) => {
        await step(members, ab);
        const js = members.filter((m) => tileMasks[m]);
        if (!js.length || 1 - ab < 1e-3) return;
        const lanes = lanesOf();
        const sa = Math.sqrt(ab);
        const sn = Math.sqrt(1 - ab);
        const x0 = new Float32Array(chw);
        for (let u = 0; u < jumps; u++) {
          for (const m of members) lanes[m].eps = lanes[m].eps.slice(); // outlive the next run's output
          for (const m of js) {
            const l = lanes[m];
            const tm = tileMasks[m]!;
            x0FromEps(l.x, l.eps, ab, x0);
            const rng = jumpRngs[m];
            for (let ch = 0; ch < 3; ch++) {
              for (let p = 0; p < plane; p++) if (tm[p]) l.x[ch * plane + p] = sa * x0[ch * plane + p] + sn * rng.normal();
            }
          }
          await step(js, ab);
        }
      };
    },
  };
}
