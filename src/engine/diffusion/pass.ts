/**
 * One SR pass of the diffusion engine: the tile loop.
 *
 *   geometry       the output canvas in tiles (tiles.ts), batches of up to `batch` tiles (lanes)
 *   conditioning   each tile's window of the bicubic upsample (bicubic.ts), written into its lane's
 *                  slot of the denoiser's batch input
 *   sampling       the sampler kind's plan (plans.ts) over the batch, through the denoiser
 *                  (denoiser.ts), or through the fused step graph (step.ts: moves, denoiser and x̂₀ in
 *                  one run) when c.step is set, with damage-repair jumps when a mask is given (repair.ts)
 *   colour         each tile's x̂₀ made grey or colour-corrected (color.ts), then blended in
 *
 * Each tile draws its noise from its own stream (pass, tile index), so results do not depend on the
 * batch size or order.
 */
import type { ImageF32 } from '../image';
import type { Mask } from '../damage/mask';
import { CancelledError } from '../errors';
import { axisTaps, sampleTapsCHW } from './bicubic';
import { colorCorrectCHW, greyTileCHW } from './color';
import { makeDenoiser, newCounters, type Counters } from './denoiser';
import { makeFusedDenoiser, type StepMode } from './step';
import type * as ort from 'onnxruntime-node';
import type { ModelPackage } from './models';
import type { SamplerSpec } from './plan';
import { planFor } from './plans';
import { defaultJumps, tileMaskInto, tileRepair } from './repair';
import { Rng } from './rng';
import { makeLane, resetLane, type Lane, type ModelFn, type SamplerCtx } from './samplers';
import { accumulateTile, reflectIndex, tileAt, tileGrid } from './tiles';

export const abortError = () => new CancelledError('diffusion restore cancelled');

export interface PassCtx {
  model: ModelPackage;
  spec: SamplerSpec;
  N: number | null;
  seed: number;
  pass: number;
  batch: number;
  grey: boolean;
  colorCorrect: boolean;
  signal?: AbortSignal;
  progress: (tilesBefore: number, batchTiles: number, step: number, steps: number) => void;
  tilesBefore: number;
  stepsPerTile: number;
  /** Output-sized damage mask of this pass and the resampling jumps (DiffusionOptions.repair). */
  mask?: Mask;
  jumps?: number;
  /** 'js' (absent), or a fused step (step.ts) with its session. */
  step?: { mode: Exclude<StepMode, 'js'>; session: ort.InferenceSession };
}

export interface PassResult {
  image: ImageF32;
  counters: Counters;
  /** Fine levels run per tile, in tile order. */
  fineLevelsPerTile: number[][];
}

/** Noise stream of (pass, tile): independent of batching and order. */
const streamOf = (pass: number, tile: number) => pass * 2 ** 24 + tile;

/** `lr` enlarged ×`scale` by the package's denoiser with the sampler of `c.spec`, tile by tile. */
export async function runPass(lr: ImageF32, scale: number, c: PassCtx): Promise<PassResult> {
  const card = c.model.card;
  const W = lr.width * scale;
  const H = lr.height * scale;
  const grid = tileGrid(W, H, card.tile);
  const tw = grid.x.len;
  const th = grid.y.len;
  const plane = tw * th;
  const out = new Float32Array(W * H * 3);

  // Conditioning taps (1-D tables) and reflected coordinates per tile column/row.
  const tx = axisTaps(lr.width, W, false);
  const ty = axisTaps(lr.height, H, false);
  const colIdx = grid.x.starts.map((s) => Int32Array.from({ length: tw }, (_, i) => reflectIndex(s + i, W)));
  const rowIdx = grid.y.starts.map((s) => Int32Array.from({ length: th }, (_, j) => reflectIndex(s + j, H)));

  const B = Math.max(1, Math.min(c.batch, grid.count));
  const counters = newCounters();
  const fused = c.step ? makeFusedDenoiser(c.model, c.step.session, c.step.mode === 'device' ? 'host' : 'device', { lanes: B, tw, th }, counters) : null;
  if (fused && c.mask) throw new Error('internal: damage repair runs in JS, not in a fused step');
  const denoiser = fused ?? makeDenoiser(c.model, { lanes: B, tw, th }, counters);
  const lanes: Lane[] = Array.from({ length: B }, (_, i) => makeLane(3 * plane, new Rng(c.seed, 0), denoiser.xSlot(i), fused?.x0Slot(i)));
  const plan = planFor(c.spec, { model: c.model, N: c.N, lanes: B, tw, th, counters });

  // One denoiser call on the current batch, then progress: (tile − 1 + step/steps)/tiles.
  const batch = { start: 0, tiles: 0, step: 0 };
  const ctx: SamplerCtx = { lanes: [], model: async () => {}, fused: !!fused };
  const step: ModelFn = async (members, ab) => {
    if (c.signal?.aborted) throw abortError();
    await denoiser.run(ctx.lanes, members, ab);
    for (const m of members) batch.step = Math.max(batch.step, ctx.lanes[m].calls + 1);
    c.progress(c.tilesBefore + batch.start, batch.tiles, Math.min(batch.step, c.stepsPerTile), c.stepsPerTile);
  };
  const jumps = c.mask ? Math.max(0, Math.floor(c.jumps ?? defaultJumps(card))) : 0;
  const repair = jumps ? tileRepair(c.mask!, W, jumps, B, tw, th, c.seed) : null;
  ctx.model = repair ? repair.wrap(step, () => ctx.lanes) : step;

  const fineLevelsPerTile: number[][] = [];
  const sigma = 2 * scale;
  for (let b0 = 0; b0 < grid.count; b0 += B) {
    const nb = Math.min(B, grid.count - b0);
    ctx.lanes = lanes.slice(0, nb);
    batch.start = b0;
    batch.tiles = nb;
    batch.step = 0;
    denoiser.beginBatch();
    for (let i = 0; i < nb; i++) {
      const t = b0 + i;
      const { col, row } = tileAt(grid, t);
      sampleTapsCHW(lr.data, lr.width, tx, ty, colIdx[col], rowIdx[row], denoiser.condSlot(i), 2, -1, -1, 1);
      const ms = 'maskSlot' in denoiser ? denoiser.maskSlot(i) : null; // a denoiser with the mask input: the tile's mask, or zeros
      if (ms) tileMaskInto(c.mask ?? null, W, colIdx[col], rowIdx[row], ms);
      resetLane(lanes[i], new Rng(c.seed, streamOf(c.pass, t)), plan.startAb);
      lanes[i].noise = { seed: c.seed, stream: streamOf(c.pass, t), moves: 0 };
      repair?.setTile(i, colIdx[col], rowIdx[row], streamOf(c.pass, t));
    }
    await plan.sample(ctx);
    c.progress(c.tilesBefore + b0, nb, c.stepsPerTile, c.stepsPerTile);
    for (let i = 0; i < nb; i++) {
      const lane = lanes[i];
      const x0 = lane.x0;
      if (c.grey) greyTileCHW(x0, plane);
      else if (c.colorCorrect) colorCorrectCHW(x0, denoiser.condSlot(i), tw, th, sigma);
      accumulateTile(grid, b0 + i, x0, out);
      fineLevelsPerTile.push(lane.fineLevels.slice());
      counters.callsPerTile = Math.max(counters.callsPerTile, lane.calls);
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i] < 0 ? 0 : out[i] > 1 ? 1 : out[i];
  counters.calls128 = (counters.calls * plane) / (128 * 128);
  return { image: { width: W, height: H, data: out }, counters, fineLevelsPerTile };
}
