/**
 * The diffusion engine's public API: model packages, and one restore of an image with a sampler.
 *
 *   discoverModels / loadModel      model packages (models.ts)
 *   restoreDiffusion                LR image → SR image: the scale route and its passes; each pass is
 *                                   the tile loop of pass.ts over the sampler's plan (plans.ts: one per
 *                                   sampler kind, over samplers.ts, plan.ts, schedule.ts) and the
 *                                   batched denoiser (denoiser.ts, feeds.ts), with conditioning
 *                                   (bicubic.ts), tiles (tiles.ts), repair jumps (repair.ts), colour (color.ts)
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
import { scaleRoute } from '../../shared/card';
import { isGrey, type ImageF32 } from '../image';
import { bicubicResize } from './bicubic';
import { toGreyImage } from './color';
import { addCounters, newCounters } from './denoiser';
import type { ModelPackage } from './models';
import { estimateCalls, parseSampler, splitFor, usesSplit } from './plan';
import { abortError, runPass } from './pass';
import { resizeMaskNearest, type Mask } from '../damage/mask';
import { tileGrid } from './tiles';
import { resolveStep, stepSession, type StepMode, type StepSetting } from './step';

export { loadModel, readCard, ModelError, type ModelPackage, type ModelListEntry, type LoadOptions } from './models';
export { estimateCalls, parseSampler, fixedStrideLevels, coarseIndicesAbove, splitFor } from './plan';
export { bicubicResize } from './bicubic';
export { Rng } from './rng';
export { STEP_SETTINGS, releaseStepSessions, type StepMode, type StepSetting } from './step';

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
  /**
   * Where the sampler's per-element step runs (step.ts): 'js' (the CPU path), 'device' (a fused
   * step graph with the denoiser, the lanes' own noise: equal to 'js' within float32 rounding),
   * 'device-noise' (the same, noise generated in the graph: a different sample, no JS per element),
   * 'auto' (default: 'device' on a provider other than the CPU, without repair; else 'js').
   */
  step?: StepSetting;
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
  /** Where the step ran ('js' | 'device' | 'device-noise') and why (options.step). */
  step: StepMode;
  stepReason: string;
}

export { scaleRoute, type ScaleStep } from '../../shared/card';

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

  let { mode: stepMode, reason: stepReason } = resolveStep(opts.step ?? 'auto', model, !!repair);
  let stepSess: Awaited<ReturnType<typeof stepSession>> | null = null;
  if (stepMode !== 'js') {
    try {
      stepSess = await stepSession(model, stepMode === 'device' ? 'host' : 'device');
    } catch (e) {
      if (opts.step && opts.step !== 'auto') throw e;
      stepReason = `auto: the fused step graph could not be opened (${(e as Error).message.split('\n')[0]}), js instead`;
      stepMode = 'js';
    }
  }

  let img = grey ? toGreyImage(lr) : lr;
  const counters = newCounters();
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
      ...(stepSess && stepMode !== 'js' ? { step: { mode: stepMode, session: stepSess } } : {}),
      ...(repair ? { mask: resizeMaskNearest(repair.mask, img.width * st.scale, img.height * st.scale), jumps: repair.jumps } : {}),
    });
    tilesBefore += passes[pass].tiles;
    pass++;
    img = r.image;
    addCounters(counters, r.counters);
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
    calls: counters.calls,
    calls128: counters.calls128,
    callsPerTile: counters.callsPerTile,
    fineLevelsRun: [...union].sort((a, b) => b - a),
    tiles: tilesTotal,
    provider: model.providers[0] ?? 'cpu',
    grey,
    msSampling: performance.now() - t0,
    fineLevelsRunPerTile: perTile ?? [],
    onnxRuns: counters.onnxRuns,
    msOnnx: counters.msOnnx,
    policyCalls: counters.policyCalls,
    msPolicy: counters.msPolicy,
    passes,
    downscale,
    colorCorrect: colorCorrect && !grey,
    step: stepMode,
    stepReason,
  };
  return { image: img, info };
}
