/**
 * Samplers, k-diffusion style: each one a small function over a model function, an input (a set of
 * *lanes*, one per image tile, each with its own state and its own RNG stream) and a list of levels
 * (ᾱ values). The model function evaluates ε for a subset of lanes at one level; the caller batches
 * those lanes through onnxruntime. Nothing here knows about ONNX, tiles or images.
 *
 * Levels are ᾱ values, from the noisiest to the least noisy; ᾱ = 1 stands for x₀. The last call of
 * every sampler returns x̂₀ (lane.x0).
 */
import { ddimStep, ddpmStep, posteriorCoefs, x0FromEps } from './schedule';
import type { Rng } from './rng';

/**
 * A move a → b that a fused step (step.ts) will make on the device at the lane's next call:
 * x_b = c0·x̂₀ + c1·x_a + sigma·z, z drawn (host noise: from the lane's rng, as the JS move would) iff `draws`.
 */
export interface PendingMove {
  c0: number;
  c1: number;
  sigma: number;
  draws: boolean;
}

export interface Lane {
  /** Current sample x at level `ab` (CHW, [-1,1] scale). */
  x: Float32Array;
  /** x̂₀ of the latest denoiser call (valid when hasX0). */
  x0: Float32Array;
  /** ε of the latest call: the model function writes it, or points it at a view of its output. */
  eps: Float32Array;
  rng: Rng;
  /** ᾱ of the level x lives at. */
  ab: number;
  hasX0: boolean;
  /** Denoiser calls made for this lane. */
  calls: number;
  /** Fine levels (1-based, on the T_f grid) at which this lane ran the denoiser, in order. */
  fineLevels: number[];
  /** Fused step only: the move to `ab` not made yet (null: x is at `ab`). */
  pending: PendingMove | null;
  /** Fused step with device noise: the lane's generator key (seed, stream) and noisy moves so far. */
  noise: { seed: number; stream: number; moves: number };
}

/**
 * Evaluate ε for lanes `members` (all at level ᾱ = alphaBar): fill lanes[m].eps, or set it to a view
 * of the model's output (valid until the next model call).
 */
export type ModelFn = (members: readonly number[], alphaBar: number) => Promise<void>;

export interface SamplerCtx {
  lanes: Lane[];
  model: ModelFn;
  /**
   * The model function is a fused step (step.ts): moves between levels are only recorded on the lane
   * (lane.pending) and made by the next call on the device, which also writes lane.x and lane.x0.
   */
  fused?: boolean;
}

/** A lane of `size` values; `x` (and `x0`) may be given as views into batch buffers (saves a copy per call). */
export function makeLane(size: number, rng: Rng, x?: Float32Array, x0?: Float32Array): Lane {
  if ((x && x.length !== size) || (x0 && x0.length !== size)) throw new Error('internal: lane view has the wrong size');
  return {
    x: x ?? new Float32Array(size),
    x0: x0 ?? new Float32Array(size),
    eps: new Float32Array(size),
    rng,
    ab: 0,
    hasX0: false,
    calls: 0,
    fineLevels: [],
    pending: null,
    noise: { seed: 0, stream: 0, moves: 0 },
  };
}

/** Reset a lane to pure noise N(0, I) at level ᾱ = startAb (reusing its buffers). */
export function resetLane(lane: Lane, rng: Rng, startAb: number): void {
  lane.rng = rng;
  rng.fillNormal(lane.x);
  lane.ab = startAb;
  lane.hasX0 = false;
  lane.calls = 0;
  lane.fineLevels = [];
  lane.pending = null;
}

const all = (ctx: SamplerCtx) => ctx.lanes.map((_, i) => i);

/** One denoiser evaluation for `members` at their common level; updates x̂₀ (clipped). */
async function denoise(ctx: SamplerCtx, members: readonly number[], ab: number): Promise<void> {
  await ctx.model(members, ab);
  for (const m of members) {
    const l = ctx.lanes[m];
    if (!ctx.fused) x0FromEps(l.x, l.eps, ab, l.x0);
    l.hasX0 = true;
    l.calls++;
  }
}

/**
 * Move a lane from its level to ᾱ = abB using its current x̂₀: ancestral (eta undefined) or DDIM.
 * Fused: recorded for the next call (the same coefficients and, with host noise, the same draws from
 * the lane's rng as the JS step, taken when the call is made); a move to x₀ is a copy either way.
 */
function advance(ctx: SamplerCtx, lane: Lane, abB: number, eta?: number): void {
  const abA = lane.ab;
  if (ctx.fused && abB < 1) {
    if (lane.pending) throw new Error('internal: two moves without a call between them');
    lane.pending = eta === undefined ? ddpmMove(abA, abB) : ddimMove(abA, abB, eta);
  } else if (eta === undefined) ddpmStep(lane.x, lane.x0, abA, abB, lane.rng);
  else ddimStep(lane.x, lane.x0, abA, abB, eta, lane.rng);
  lane.ab = abB;
}

/** The ancestral move's coefficients (schedule.ts ddpmStep). */
export function ddpmMove(abA: number, abB: number): PendingMove {
  const { cX0, cXa, variance } = posteriorCoefs(abA, abB);
  return { c0: cX0, c1: cXa, sigma: Math.sqrt(variance), draws: true };
}

/** The DDIM move's coefficients (schedule.ts ddimStep, its ε̂ term folded into c0 and c1). */
export function ddimMove(abA: number, abB: number, eta: number): PendingMove {
  if (!(abB > abA)) throw new RangeError(`DDIM step must go to a less noisy level (ᾱ_b=${abB} ≤ ᾱ_a=${abA})`);
  const sigma = eta > 0 ? eta * Math.sqrt(posteriorCoefs(abA, abB).variance) : 0;
  const inv1A = 1 / Math.sqrt(1 - abA);
  const cEps = Math.sqrt(Math.max(1 - abB - sigma * sigma, 0));
  return { c0: Math.sqrt(abB) - cEps * inv1A * Math.sqrt(abA), c1: cEps * inv1A, sigma, draws: sigma > 0 };
}

/** Ancestral (posterior) move of a lane from its level to ᾱ = ab using its current x̂₀. */
function moveTo(ctx: SamplerCtx, lane: Lane, ab: number): void {
  if (lane.ab === ab) return;
  if (!lane.hasX0) throw new Error('internal: a lane cannot leave its level before a denoiser call');
  advance(ctx, lane, ab);
}

/**
 * Plain ancestral DDPM over `levels` (ᾱ, noisiest first, must end with 1 = x₀): a call at every level
 * but the last, posterior step to the next. Lanes must start at levels[0].
 */
export async function sampleDdpm(ctx: SamplerCtx, levels: readonly number[]): Promise<void> {
  checkLevels(levels);
  const members = all(ctx);
  for (let i = 0; i + 1 < levels.length; i++) {
    await denoise(ctx, members, levels[i]);
    for (const l of ctx.lanes) {
      l.ab = levels[i];
      advance(ctx, l, levels[i + 1]);
    }
  }
}

/** DDIM over `levels` (as sampleDdpm); eta = 0 is deterministic given the start noise. */
export async function sampleDdim(ctx: SamplerCtx, levels: readonly number[], eta = 0): Promise<void> {
  checkLevels(levels);
  const members = all(ctx);
  for (let i = 0; i + 1 < levels.length; i++) {
    await denoise(ctx, members, levels[i]);
    for (const l of ctx.lanes) {
      l.ab = levels[i];
      advance(ctx, l, levels[i + 1], eta);
    }
  }
}

function checkLevels(levels: readonly number[]) {
  if (levels.length < 2 || levels[levels.length - 1] !== 1) throw new Error('levels must have ≥ 2 entries and end with ᾱ = 1 (x₀)');
  for (let i = 1; i < levels.length; i++) if (!(levels[i] > levels[i - 1])) throw new Error('levels must go from noisy to clean (ᾱ increasing)');
}

/**
 * CSA's coarse walk (DESIGN §1.4): a call at each coarse level in `coarseLevels` (ᾱ, noisiest first),
 * with an ancestral step between consecutive ones. The step *out of* the last coarse level is left
 * pending: the lanes stay there with their x̂₀, and the next run level (τ_N, or the first fine level
 * FSR runs) is reached by one posterior step in `sampleFsr` — so skipping level N is one larger step.
 */
export async function sampleCoarse(ctx: SamplerCtx, coarseLevels: readonly number[]): Promise<void> {
  const members = all(ctx);
  for (const ab of coarseLevels) {
    for (const l of ctx.lanes) if (l.hasX0) moveTo(ctx, l, ab);
    await denoise(ctx, members, ab);
  }
}

/** `csa` alone: coarse walk, step to τ_N, one call there; the result is that call's x̂₀. */
export async function sampleCsa(ctx: SamplerCtx, coarseLevels: readonly number[], abN: number): Promise<void> {
  await sampleCoarse(ctx, coarseLevels);
  for (const l of ctx.lanes) moveTo(ctx, l, abN);
  await denoise(ctx, all(ctx), abN);
}

/**
 * Decide, for lanes `members` about to reach fine level `level`, whether to run the denoiser there
 * (true) or skip the level (false). Called once per fine level with the lanes not forced to run.
 */
export type FsrDecider = (level: number, members: readonly number[], lanes: readonly Lane[]) => Promise<boolean[]> | boolean[];

/**
 * FSR (DESIGN §1.5): walk fine levels N … 1 (fineAB[n−1] is level n's ᾱ). Before each level the
 * decider says run/skip per lane; level 1 (the step to x₀) always runs, and so does level N when no
 * call has happened yet (N = T_f: nothing to jump with). A run level first takes the pending
 * ancestral step from the lane's previous run level, then calls the denoiser. Lanes may take
 * different paths; lanes that run at the same level share one batched call.
 */
export async function sampleFsr(ctx: SamplerCtx, fineAB: ArrayLike<number>, N: number, decide: FsrDecider): Promise<void> {
  if (!Number.isInteger(N) || N < 1 || N > fineAB.length) throw new RangeError(`N must be in 1..${fineAB.length}: ${N}`);
  const lanes = ctx.lanes;
  for (let n = N; n >= 1; n--) {
    const ab = fineAB[n - 1];
    const run: number[] = [];
    const ask: number[] = [];
    for (let m = 0; m < lanes.length; m++) (n === 1 || !lanes[m].hasX0 ? run : ask).push(m);
    if (ask.length) {
      const d = await decide(n, ask, lanes);
      if (d.length !== ask.length) throw new Error('internal: decider answered for the wrong number of lanes');
      for (let i = 0; i < ask.length; i++) if (d[i]) run.push(ask[i]);
    }
    if (!run.length) continue;
    run.sort((a, b) => a - b);
    for (const m of run) moveTo(ctx, lanes[m], ab);
    await denoise(ctx, run, ab);
    for (const m of run) lanes[m].fineLevels.push(n);
  }
}

/** Decider of the fixed-stride rule: run exactly the given levels. */
export function fixedDecider(levels: readonly number[]): FsrDecider {
  const set = new Set(levels);
  return (level, members) => members.map(() => set.has(level));
}

/**
 * The skip policy (SPN) as a batched function: x0_hat [b,3,S,S] in [-1,1], t_feat [b,3], h [b,hidden]
 * → p_denoise [b], h_out [b,hidden]. Buffers may hold more than b entries; only the first b count.
 */
export type PolicyFn = (x0Hat: Float32Array, tFeat: Float32Array, h: Float32Array, b: number) => Promise<{ p: Float32Array; hOut: Float32Array }>;

export interface PolicyDeciderOpts {
  policy: PolicyFn;
  /** Policy input side S (x̂₀ is resized to S×S). */
  imageSize: number;
  hidden: number;
  fineSteps: number;
  N: number;
  /** Resize one lane's x̂₀ (CHW, tile size) to S×S into `out` (CHW). */
  resize: (x0: Float32Array, out: Float32Array) => void;
  /** Max lanes (for buffer sizes). */
  lanes: number;
  /** Optional trace of every decision (tests, bench). */
  trace?: { level: number; lane: number; p: number; tFeat: number[] }[];
}

/**
 * Greedy policy decider (DESIGN §1.5): before each fine level the policy sees x̂₀ (the latest
 * estimate, resized to S×S), t_feat = [level/T_f, fine calls used so far/T_f, N/T_f] and its GRU
 * state h (zeros at the start of each tile, then h_out of its previous decision: one state per lane);
 * it runs the level iff p_denoise ≥ 0.5. Forced levels (level 1; level N with no estimate yet) are
 * not shown to the policy. `hidden` state per lane is exposed for tests via `.state(lane)`.
 */
export function policyDecider(o: PolicyDeciderOpts): FsrDecider & { state(lane: number): Float32Array; reset(): void } {
  const S = o.imageSize;
  const plane = 3 * S * S;
  const xBuf = new Float32Array(o.lanes * plane);
  const tBuf = new Float32Array(o.lanes * 3);
  const hBuf = new Float32Array(o.lanes * o.hidden);
  const hState = Array.from({ length: o.lanes }, () => new Float32Array(o.hidden));
  const xSlots = Array.from({ length: o.lanes }, (_, i) => xBuf.subarray(i * plane, (i + 1) * plane));
  const fn = (async (level: number, members: readonly number[], lanes: readonly Lane[]) => {
    const b = members.length;
    for (let i = 0; i < b; i++) {
      const lane = lanes[members[i]];
      o.resize(lane.x0, xSlots[i]); // straight into the batch input
      tBuf[i * 3] = level / o.fineSteps;
      tBuf[i * 3 + 1] = lane.fineLevels.length / o.fineSteps;
      tBuf[i * 3 + 2] = o.N / o.fineSteps;
      hBuf.set(hState[members[i]], i * o.hidden);
    }
    const { p, hOut } = await o.policy(xBuf, tBuf, hBuf, b);
    const out: boolean[] = [];
    for (let i = 0; i < b; i++) {
      hState[members[i]].set(hOut.subarray(i * o.hidden, (i + 1) * o.hidden));
      out.push(p[i] >= 0.5);
      o.trace?.push({ level, lane: members[i], p: p[i], tFeat: [tBuf[i * 3], tBuf[i * 3 + 1], tBuf[i * 3 + 2]] });
    }
    return out;
  }) as FsrDecider & { state(lane: number): Float32Array; reset(): void };
  fn.state = (lane: number) => hState[lane];
  fn.reset = () => {
    for (const h of hState) h.fill(0);
  };
  return fn;
}
