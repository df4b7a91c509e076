/**
 * One plan per sampler kind: the levels a pass visits (plan.ts, schedule.ts) and the sampler that
 * walks them over a batch of lanes (samplers.ts), looked up in a registry by `spec.kind`. A plan is
 * made once per pass; the tile loop only asks it where lanes start (`startAb`) and to `sample` each
 * batch.
 *
 *   ddpm:<k> / ddim:<k>[:eta]   the k-step grid, ancestral / DDIM steps to x₀
 *   csa                         CSA's coarse walk to τ_N, one call there
 *   fixed:<F>                   CSA, then FSR on the fixed-stride levels (F of N)
 *   skipdiff                    CSA, then FSR with the package's skip policy, or the fixed-stride
 *                               rule with card.sampler.fixedStrideCalls when it has none
 */
import { fixedStrideCallsAt, type ModelCard } from '../../shared/card';
import { resizeFloat } from './bicubic';
import { makePolicyFn, type Counters } from './denoiser';
import type { ModelPackage } from './models';
import { coarseIndicesAbove, fixedStrideLevels, type SamplerSpec } from './plan';
import { fixedDecider, policyDecider, sampleCoarse, sampleCsa, sampleDdim, sampleDdpm, sampleFsr, type FsrDecider, type SamplerCtx } from './samplers';
import { alphaBars } from './schedule';

export interface SamplerPlan {
  /** ᾱ every lane starts from (pure noise there). */
  startAb: number;
  /** Run the sampler on the lanes of `ctx` (all reset to startAb). */
  sample(ctx: SamplerCtx): Promise<void>;
}

export interface PlanEnv {
  model: ModelPackage;
  /** Split point on the fine grid (CSA + FSR family; null for ddpm / ddim). */
  N: number | null;
  /** Lanes per batch, and the tile size (the policy's buffers and input resize). */
  lanes: number;
  tw: number;
  th: number;
  counters: Counters;
}

type PlanFactory<K extends SamplerSpec['kind']> = (spec: Extract<SamplerSpec, { kind: K }>, env: PlanEnv) => SamplerPlan;

/** The k-step grid, noisiest first, ending with ᾱ = 1 (x₀). */
function plainLevels(card: ModelCard, steps: number): number[] {
  const ab = alphaBars(card.schedule.kind, steps, card.schedule.s);
  return [...Array.from(ab).reverse(), 1];
}

/** CSA's coarse levels above τ_N and the fine grid (see plan.ts for the handoff). */
function splitLevels(card: ModelCard, N: number): { coarseLevels: number[]; fineAB: Float64Array; startAb: number } {
  const { kind, s } = card.schedule;
  const cab = alphaBars(kind, card.sampler.coarseSteps, s);
  const fineAB = alphaBars(kind, card.sampler.fineSteps, s);
  const coarseLevels = coarseIndicesAbove(card.sampler.coarseSteps, card.sampler.fineSteps, N).map((k) => cab[k]);
  return { coarseLevels, fineAB, startAb: coarseLevels.length ? coarseLevels[0] : fineAB[N - 1] };
}

/** CSA then FSR with `decider` (made once per pass; `beforeFsr` runs at each batch's handoff). */
function csaFsrPlan(card: ModelCard, N: number, decider: FsrDecider, beforeFsr?: () => void): SamplerPlan {
  const { coarseLevels, fineAB, startAb } = splitLevels(card, N);
  return {
    startAb,
    async sample(ctx) {
      await sampleCoarse(ctx, coarseLevels);
      beforeFsr?.();
      await sampleFsr(ctx, fineAB, N, decider);
    },
  };
}

const PLANS: { [K in SamplerSpec['kind']]: PlanFactory<K> } = {
  ddpm(spec, env) {
    const levels = plainLevels(env.model.card, spec.steps);
    return { startAb: levels[0], sample: (ctx) => sampleDdpm(ctx, levels) };
  },
  ddim(spec, env) {
    const levels = plainLevels(env.model.card, spec.steps);
    return { startAb: levels[0], sample: (ctx) => sampleDdim(ctx, levels, spec.eta) };
  },
  csa(_spec, env) {
    const N = env.N!;
    const { coarseLevels, fineAB, startAb } = splitLevels(env.model.card, N);
    return { startAb, sample: (ctx) => sampleCsa(ctx, coarseLevels, fineAB[N - 1]) };
  },
  fixed(spec, env) {
    return csaFsrPlan(env.model.card, env.N!, fixedDecider(fixedStrideLevels(env.N!, spec.calls)));
  },
  skipdiff(_spec, env) {
    const { model, N, lanes, tw, th } = env;
    const card = model.card;
    const fixedLevels = fixedStrideLevels(N!, fixedStrideCallsAt(card.sampler, N!));
    const pfn = makePolicyFn(model, env.counters);
    if (!pfn) return csaFsrPlan(card, N!, fixedDecider(fixedLevels));
    const S = card.io.policy!.imageSize;
    const policy = policyDecider({
      policy: pfn,
      imageSize: S,
      hidden: card.io.policy!.hidden,
      fineSteps: card.sampler.fineSteps,
      N: N!,
      lanes,
      resize: (x0, o) => (tw === S && th === S ? o.set(x0) : resizeFloat(x0, 3, tw, th, S, S, 'chw', true, o)),
    });
    // Each tile's GRU state starts from zeros.
    return csaFsrPlan(card, N!, policy, () => policy.reset());
  },
};

/** The plan of `spec` for one pass. */
export function planFor(spec: SamplerSpec, env: PlanEnv): SamplerPlan {
  return (PLANS[spec.kind] as PlanFactory<SamplerSpec['kind']>)(spec as never, env);
}
