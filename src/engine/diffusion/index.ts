/**
 * The diffusion engine's public API: model packages, and one restore of an image with a sampler.
 *
 *   discoverModels / loadModel      model packages (models.ts)
 *   restoreDiffusion                LR image → SR image: conditioning (bicubic.ts), tiles (tiles.ts),
 *                                   samplers (samplers.ts, plan.ts, schedule.ts), colour (color.ts)
 *   estimateCalls, bicubicResize    helpers the app and CLI use
 *
 * Scales: a scale listed in card.scales runs one pass (the model is conditioned on the bicubic
 * upsample by that scale). Otherwise, with p = card.primaryScale:
 *   - scale = p·r (r ≥ 2): a pass at ×p, then ×r of its output by the same rules (×8 with a ×4-only
 *     model = ×4, then ×2, where ×2 is itself ×4 followed by an antialiased ÷2; ×16 = ×4 twice);
 *   - p = scale·r: a pass at ×p, then an antialiased bicubic ÷r (×2 with a ×4-only model);
 *   - anything else is an error naming the scales the model serves.
 * Each pass draws its noise from its own streams (tile index + pass number), so passes never share
 * noise. A chained pass holds its input (the previous pass's output) as well as its own output.
 */
import * as ort from 'onnxruntime-node';
import { scaleRoute, type ModelCard } from '../../shared/card';
import type { ImageF32 } from '../image';
import { CancelledError } from '../errors';
import { axisTaps, bicubicResize, resizeFloat, sampleTapsCHW } from './bicubic';
import { colorCorrectCHW, greyTileCHW, isGrey, toGreyImage } from './color';
import type { ModelPackage } from './models';
import { estimateCalls, parseSampler, coarseIndicesAbove, fixedStrideLevels, splitFor, usesSplit, type SamplerSpec } from './plan';
import { Rng } from './rng';
import { makeLane, resetLane, policyDecider, fixedDecider, sampleCoarse, sampleCsa, sampleDdim, sampleDdpm, sampleFsr, type Lane, type SamplerCtx, type PolicyFn } from './samplers';
import { alphaBars, x0FromEps } from './schedule';
import { resizeMaskNearest, type Mask } from '../damage/mask';
import { accumulateTile, reflectIndex, tileAt, tileGrid, type TileGrid } from './tiles';

export { discoverModels, loadModel, unloadModel, readCard, ModelError, type ModelPackage, type ModelListEntry, type LoadOptions } from './models';
export { estimateCalls, parseSampler, fixedStrideLevels, coarseIndicesAbove, splitFor } from './plan';
export { bicubicResize } from './bicubic';
export { Rng } from './rng';

export interface DiffusionProgress {
  /**
   * 1-based tile being worked on, over all passes. Tiles run in batches; a batch's progress is
   * spread over its tiles, so (tile − 1 + step/steps)/tiles is always the fraction done.
   */
  tile: number;
  tiles: number;
  /** Denoiser step within `tile` (0 … steps). */
  step: number;
  /** Denoiser calls per tile (exact, or for skipdiff with a policy the upper bound C(N) + N). */
  steps: number;
}

export interface DiffusionOptions {
  scale: number;
  /** 'skipdiff' | 'ddpm:<k>' | 'ddim:<k>' | 'csa' | 'fixed:<calls>' (fixed: <calls> fine levels after CSA). */
  sampler: string;
  /** Knob in [0, 1]: 0 = most faithful, 1 = most detailed; mapped to N by the card. */
  fidelity: number;
  seed: number;
  /** Tiles per onnxruntime call (default 4). Results do not depend on it (per-tile noise streams). */
  batch?: number;
  signal?: AbortSignal;
  onProgress?: (p: DiffusionProgress) => void;
  /** Low-pass chroma of the output matched to the input (default true; see color.ts). */
  colorCorrect?: boolean;
  /**
   * Damage repair (issue 17), RePaint-style resampling inside `mask` (input-sized, non-zero =
   * damaged; the caller has already filled those input pixels, e.g. by Telea, so the conditioning
   * there is plausible): after each denoiser call at level ᾱ, tiles with damaged pixels get `jumps`
   * more calls at the same level, each after the damaged pixels of x were replaced by the latest
   * x̂₀ noised back to ᾱ (fresh noise from their own stream); pixels outside the mask keep the
   * sampler's own trajectory. Absent: nothing changes (same calls, same bytes).
   */
  repair?: { mask: Mask; jumps?: number };
}

export interface DiffusionInfo {
  modelId: string;
  modelVersion: string;
  sampler: string;
  knob: number;
  /** N on the fine grid (null for ddpm:k / ddim:k). */
  splitN: number | null;
  seed: number;
  /** Denoiser evaluations, summed over tiles (and passes). */
  calls: number;
  /**
   * The same evaluations counted in 128×128-tile units (Σ calls × tile area / 128²): what a measured
   * time is divided by to give the "ms per 128² call" speed the app estimates with (src/main/speed.ts).
   */
  calls128: number;
  /** The most denoiser evaluations any one tile needed (what "calls per image" means for one tile). */
  callsPerTile: number;
  /** Fine levels run by at least one tile, descending (tiles may differ under a policy). */
  fineLevelsRun: number[];
  tiles: number;
  provider: string;
  grey: boolean;
  msSampling: number;
  /** Fine levels per tile of the first pass (all equal without a policy). */
  fineLevelsRunPerTile: number[][];
  /** onnxruntime denoiser runs (batched calls) and time inside them. */
  onnxRuns: number;
  msOnnx: number;
  policyCalls: number;
  /** Time inside policy runs. */
  msPolicy: number;
  passes: { scale: number; width: number; height: number; tiles: number }[];
  /** Antialiased bicubic shrink applied after the passes (1 = none). */
  downscale: number;
  colorCorrect: boolean;
}

export { scaleRoute, type ScaleStep } from '../../shared/card';

const abortError = () => new CancelledError('diffusion restore cancelled');

interface PassResult {
  image: ImageF32;
  calls: number;
  calls128: number;
  callsPerTile: number;
  fineLevelsPerTile: number[][];
  onnxRuns: number;
  msOnnx: number;
  policyCalls: number;
  msPolicy: number;
}

interface PassCtx {
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
}

/** Noise stream of (pass, tile): independent of batching and order. */
const streamOf = (pass: number, tile: number) => pass * 2 ** 24 + tile;

async function runPass(lr: ImageF32, scale: number, c: PassCtx): Promise<PassResult> {
  const { model, spec } = c;
  const card = model.card;
  const W = lr.width * scale;
  const H = lr.height * scale;
  const grid: TileGrid = tileGrid(W, H, card.tile);
  const tw = grid.x.len;
  const th = grid.y.len;
  const plane = tw * th;
  const chw = 3 * plane;
  const out = new Float32Array(W * H * 3);

  // Conditioning taps (1-D tables) and reflected coordinates per tile column/row.
  const tx = axisTaps(lr.width, W, false);
  const ty = axisTaps(lr.height, H, false);
  const colIdx = grid.x.starts.map((s) => Int32Array.from({ length: tw }, (_, i) => reflectIndex(s + i, W)));
  const rowIdx = grid.y.starts.map((s) => Int32Array.from({ length: th }, (_, j) => reflectIndex(s + j, H)));

  const B = Math.max(1, Math.min(c.batch, grid.count));
  // Batch input buffers. Lane i's x and cond live *in* slot i of xB / cB, so a call on lanes
  // 0 … b−1 (every call except FSR calls where only some tiles run) feeds them without a copy;
  // other member sets are gathered into xG / cG. ε is read straight from onnxruntime's output.
  const xB = new Float32Array(B * chw);
  const cB = new Float32Array(B * chw);
  const gB = new Float32Array(B);
  const slot = (buf: Float32Array, i: number) => buf.subarray(i * chw, (i + 1) * chw);
  const lanes: Lane[] = Array.from({ length: B }, (_, i) => makeLane(chw, new Rng(c.seed, 0), slot(xB, i)));
  const conds = Array.from({ length: B }, (_, i) => slot(cB, i));
  let xG: Float32Array | null = null;
  let cG: Float32Array | null = null;
  const [inX, inC, inG] = card.io.denoiser.inputs;
  const outEps = card.io.denoiser.outputs[0];
  // One set of tensors per (sub-batch size, gathered or not), over views of the same buffers.
  const tensors = new Map<string, Record<string, ort.Tensor>>();
  const feedsFor = (b: number, gathered: boolean) => {
    const key = `${b}${gathered ? 'g' : ''}`;
    let f = tensors.get(key);
    if (!f) {
      const xs = gathered ? xG! : xB;
      const cs = gathered ? cG! : cB;
      f = {
        [inX]: new ort.Tensor('float32', xs.subarray(0, b * chw), [b, 3, th, tw]),
        [inC]: new ort.Tensor('float32', cs.subarray(0, b * chw), [b, 3, th, tw]),
        [inG]: new ort.Tensor('float32', gB.subarray(0, b), [b]),
      };
      tensors.set(key, f);
    }
    return f;
  };

  let calls = 0;
  let onnxRuns = 0;
  let msOnnx = 0;
  let policyCalls = 0;
  let msPolicy = 0;
  let batchStart = 0;
  let batchTiles = 0;
  let batchStep = 0;
  let lastGathered = '';
  let active: Lane[] = [];
  const run_ = async (members: readonly number[], ab: number) => {
    if (c.signal?.aborted) throw abortError();
    const b = members.length;
    let identity = true;
    for (let i = 0; i < b; i++) if (members[i] !== i) identity = false;
    if (!identity) {
      xG ??= new Float32Array(B * chw);
      cG ??= new Float32Array(B * chw);
      for (let i = 0; i < b; i++) xG.set(active[members[i]].x, i * chw);
      const key = members.join(',');
      if (key !== lastGathered) {
        for (let i = 0; i < b; i++) cG.set(conds[members[i]], i * chw);
        lastGathered = key;
      }
    }
    gB.fill(Math.sqrt(ab), 0, b);
    const t0 = performance.now();
    const res = await model.denoiser.run(feedsFor(b, !identity));
    msOnnx += performance.now() - t0;
    const eps = res[outEps].data as Float32Array;
    for (let i = 0; i < b; i++) active[members[i]].eps = eps.subarray(i * chw, (i + 1) * chw);
    onnxRuns++;
    calls += b;
    for (let i = 0; i < b; i++) batchStep = Math.max(batchStep, active[members[i]].calls + 1);
    c.progress(c.tilesBefore + batchStart, batchTiles, Math.min(batchStep, c.stepsPerTile), c.stepsPerTile);
  };
  // Damage repair: per lane, the tile's mask plane (null: no damaged pixel) and a jump noise stream.
  const jumps = c.mask ? Math.max(0, Math.floor(c.jumps ?? 2)) : 0;
  const tileMasks: (Uint8Array | null)[] = Array.from({ length: B }, () => null);
  const jumpRngs: Rng[] = [];
  const model_ = !jumps
    ? run_
    : async (members: readonly number[], ab: number) => {
        await run_(members, ab);
        const js = members.filter((m) => tileMasks[m]);
        if (!js.length || 1 - ab < 1e-3) return;
        const sa = Math.sqrt(ab);
        const sn = Math.sqrt(1 - ab);
        const x0 = new Float32Array(chw);
        for (let u = 0; u < jumps; u++) {
          for (const m of members) active[m].eps = active[m].eps.slice(); // outlive the next run's output
          for (const m of js) {
            const l = active[m];
            const tm = tileMasks[m]!;
            x0FromEps(l.x, l.eps, ab, x0);
            const rng = jumpRngs[m];
            for (let ch = 0; ch < 3; ch++) {
              for (let p = 0; p < plane; p++) if (tm[p]) l.x[ch * plane + p] = sa * x0[ch * plane + p] + sn * rng.normal();
            }
          }
          await run_(js, ab);
        }
      };
  const ctx: SamplerCtx = { lanes: [], model: model_ };

  // Level plans.
  const kind = card.schedule.kind;
  const s = card.schedule.s;
  let plainLevels: number[] | null = null;
  let coarseLevels: number[] = [];
  let fineAB: Float64Array | null = null;
  let startAb: number;
  if (spec.kind === 'ddpm' || spec.kind === 'ddim') {
    const ab = alphaBars(kind, spec.steps, s);
    plainLevels = [...Array.from(ab).reverse(), 1];
    startAb = plainLevels[0];
  } else {
    const N = c.N!;
    const cab = alphaBars(kind, card.sampler.coarseSteps, s);
    fineAB = alphaBars(kind, card.sampler.fineSteps, s);
    coarseLevels = coarseIndicesAbove(card.sampler.coarseSteps, card.sampler.fineSteps, N).map((k) => cab[k]);
    startAb = coarseLevels.length ? coarseLevels[0] : fineAB[N - 1];
  }

  // Policy (skipdiff with a policy in the package).
  let policy: ReturnType<typeof policyDecider> | null = null;
  if (spec.kind === 'skipdiff' && model.policy && card.io.policy) {
    const io = card.io.policy;
    const S = io.imageSize;
    const sess = model.policy;
    const pfn: PolicyFn = async (x, t, h, b) => {
      policyCalls++;
      const t0 = performance.now();
      const res = await sess.run({
        [io.inputs[0]]: new ort.Tensor('float32', x.subarray(0, b * 3 * S * S), [b, 3, S, S]),
        [io.inputs[1]]: new ort.Tensor('float32', t.subarray(0, b * 3), [b, 3]),
        [io.inputs[2]]: new ort.Tensor('float32', h.subarray(0, b * io.hidden), [b, io.hidden]),
      });
      msPolicy += performance.now() - t0;
      return { p: res[io.outputs[0]].data as Float32Array, hOut: res[io.outputs[2]].data as Float32Array };
    };
    policy = policyDecider({
      policy: pfn,
      imageSize: S,
      hidden: io.hidden,
      fineSteps: card.sampler.fineSteps,
      N: c.N!,
      lanes: B,
      resize: (x0, o) => (tw === S && th === S ? o.set(x0) : resizeFloat(x0, 3, tw, th, S, S, 'chw', true, o)),
    });
  }
  const fixedLevels = spec.kind === 'fixed' ? fixedStrideLevels(c.N!, spec.calls) : spec.kind === 'skipdiff' ? fixedStrideLevels(c.N!, card.sampler.fixedStrideCalls) : [];

  const fineLevelsPerTile: number[][] = [];
  const col_ = (t: number) => tileAt(grid, t).col;
  const row_ = (t: number) => tileAt(grid, t).row;
  let callsPerTile = 0;
  const sigma = 2 * scale;
  for (let b0 = 0; b0 < grid.count; b0 += B) {
    const nb = Math.min(B, grid.count - b0);
    active = lanes.slice(0, nb);
    ctx.lanes = active;
    batchStart = b0;
    batchTiles = nb;
    batchStep = 0;
    lastGathered = '';
    for (let i = 0; i < nb; i++) {
      const t = b0 + i;
      const { col, row } = tileAt(grid, t);
      sampleTapsCHW(lr.data, lr.width, tx, ty, colIdx[col], rowIdx[row], conds[i], 2, -1, -1, 1);
      resetLane(active[i], new Rng(c.seed, streamOf(c.pass, t)), startAb);
      if (jumps) {
        const tm = new Uint8Array(plane);
        let any = false;
        for (let j = 0; j < th; j++) {
          const row = rowIdx[row_(t)][j] * W;
          for (let k = 0; k < tw; k++) if ((tm[j * tw + k] = c.mask!.data[row + colIdx[col_(t)][k]] ? 1 : 0)) any = true;
        }
        tileMasks[i] = any ? tm : null;
        // Jump noise: its own stream per (pass, tile), apart from the sampler's (streams below 2^52).
        jumpRngs[i] = new Rng(c.seed, 2 ** 52 + streamOf(c.pass, t));
      }
    }
    if (plainLevels) {
      if (spec.kind === 'ddim') await sampleDdim(ctx, plainLevels, spec.eta);
      else await sampleDdpm(ctx, plainLevels);
    } else if (spec.kind === 'csa') {
      await sampleCsa(ctx, coarseLevels, fineAB![c.N! - 1]);
    } else {
      await sampleCoarse(ctx, coarseLevels);
      policy?.reset();
      await sampleFsr(ctx, fineAB!, c.N!, policy ?? fixedDecider(fixedLevels));
    }
    c.progress(c.tilesBefore + b0, nb, c.stepsPerTile, c.stepsPerTile);
    for (let i = 0; i < nb; i++) {
      const lane = active[i];
      const x0 = lane.x0;
      if (c.grey) greyTileCHW(x0, plane);
      else if (c.colorCorrect) colorCorrectCHW(x0, conds[i], tw, th, sigma);
      accumulateTile(grid, b0 + i, x0, out);
      fineLevelsPerTile.push(lane.fineLevels.slice());
      callsPerTile = Math.max(callsPerTile, lane.calls);
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i] < 0 ? 0 : out[i] > 1 ? 1 : out[i];
  return { image: { width: W, height: H, data: out }, calls, calls128: (calls * plane) / (128 * 128), callsPerTile, fineLevelsPerTile, onnxRuns, msOnnx, policyCalls, msPolicy };
}

/**
 * Restore/enlarge `lr` (RGB in [0,1]) by `opts.scale` with the package's denoiser. Output size is
 * exactly lr size × scale. Same input, options and model → byte-identical output.
 */
export async function restoreDiffusion(model: ModelPackage, lr: ImageF32, opts: DiffusionOptions): Promise<{ image: ImageF32; info: DiffusionInfo }> {
  const t0 = performance.now();
  const card = model.card;
  const spec = parseSampler(opts.sampler);
  if (!(opts.fidelity >= 0 && opts.fidelity <= 1)) throw new RangeError(`fidelity must be in [0, 1]: ${opts.fidelity}`);
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > Number.MAX_SAFE_INTEGER) throw new RangeError(`seed must be a non-negative integer: ${opts.seed}`);
  const batch = opts.batch ?? 4;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer: ${batch}`);
  if (!(lr.width >= 1 && lr.height >= 1) || lr.data.length !== lr.width * lr.height * 3) throw new RangeError('input image must be RGB with width·height·3 values');
  const route = scaleRoute(card, opts.scale);
  if (opts.signal?.aborted) throw abortError();
  const N = usesSplit(spec) ? splitFor(card, opts.fidelity) : null;
  const stepsPerTile = estimateCalls(card, opts.sampler, opts.fidelity);
  const colorCorrect = opts.colorCorrect ?? true;
  const grey = isGrey(lr);
  const repair = opts.repair;
  if (repair && (repair.mask.width !== lr.width || repair.mask.height !== lr.height)) throw new RangeError(`repair mask is ${repair.mask.width}×${repair.mask.height}, the input ${lr.width}×${lr.height}`);

  // Tile counts of every pass, for progress.
  const passes: { scale: number; width: number; height: number; tiles: number }[] = [];
  let w = lr.width;
  let h = lr.height;
  let downscale = 1;
  for (const st of route) {
    if (st.kind === 'sr') {
      w *= st.scale;
      h *= st.scale;
      passes.push({ scale: st.scale, width: w, height: h, tiles: tileGrid(w, h, card.tile).count });
    } else downscale *= st.factor;
  }
  const tilesTotal = passes.reduce((a, p) => a + p.tiles, 0);
  const progress = (tileIdx0: number, nb: number, step: number, steps: number) => {
    if (!opts.onProgress) return;
    // Spread the batch's nb·step tile-steps over its tiles (see DiffusionProgress).
    const done = nb * step;
    let tile = tileIdx0 + Math.floor(done / steps) + 1;
    let st = done % steps;
    if (st === 0 && tile > tileIdx0 + 1) {
      tile -= 1;
      st = steps;
    }
    opts.onProgress({ tile: Math.min(tile, tilesTotal), tiles: tilesTotal, step: st, steps });
  };

  let img = grey ? toGreyImage(lr) : lr;
  let calls = 0;
  let calls128 = 0;
  let callsPerTile = 0;
  let onnxRuns = 0;
  let msOnnx = 0;
  let policyCalls = 0;
  let msPolicy = 0;
  let perTile: number[][] | null = null;
  let tilesBefore = 0;
  let pass = 0;
  for (const st of route) {
    if (st.kind === 'down') {
      const W = Math.round(img.width / st.factor);
      const H = Math.round(img.height / st.factor);
      img = bicubicResize(img, W, H, { antialias: true });
      const d = img.data;
      for (let i = 0; i < d.length; i++) d[i] = d[i] < 0 ? 0 : d[i] > 1 ? 1 : d[i];
      continue;
    }
    const r = await runPass(img, st.scale, {
      model,
      spec,
      N,
      seed: opts.seed,
      pass,
      batch,
      grey,
      colorCorrect,
      signal: opts.signal,
      progress,
      tilesBefore,
      stepsPerTile,
      ...(repair ? { mask: resizeMaskNearest(repair.mask, img.width * st.scale, img.height * st.scale), jumps: repair.jumps } : {}),
    });
    tilesBefore += passes[pass].tiles;
    pass++;
    img = r.image;
    calls += r.calls;
    calls128 += r.calls128;
    callsPerTile = Math.max(callsPerTile, r.callsPerTile);
    onnxRuns += r.onnxRuns;
    msOnnx += r.msOnnx;
    policyCalls += r.policyCalls;
    msPolicy += r.msPolicy;
    perTile ??= r.fineLevelsPerTile;
  }
  const union = new Set<number>();
  for (const t of perTile ?? []) for (const n of t) union.add(n);
  const info: DiffusionInfo = {
    modelId: model.id,
    modelVersion: card.version,
    sampler: opts.sampler,
    knob: opts.fidelity,
    splitN: N,
    seed: opts.seed,
    calls,
    calls128,
    callsPerTile,
    fineLevelsRun: [...union].sort((a, b) => b - a),
    tiles: tilesTotal,
    provider: model.providers[0] ?? 'cpu',
    grey,
    msSampling: performance.now() - t0,
    fineLevelsRunPerTile: perTile ?? [],
    onnxRuns,
    msOnnx,
    policyCalls,
    msPolicy,
    passes,
    downscale,
    colorCorrect: colorCorrect && !grey,
  };
  return { image: img, info };
}
