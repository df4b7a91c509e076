/**
 * Which levels a sampler visits: parsing of sampler names, the CSA → FSR handoff, the fixed-stride
 * rule, and call estimates. Pure functions over the model card.
 *
 * Grids (DESIGN §1.1, §1.4, §1.5), with T_f = card.sampler.fineSteps, K_c = card.sampler.coarseSteps:
 *   fine level n ∈ {1 … T_f} is index n−1 of the T_f-step grid: τ = n/T_f, ᾱ = fineAB[n−1];
 *   fine level 0 is x₀ (ᾱ = 1).
 *   coarse index k ∈ {0 … K_c−1} of the K_c-step grid: τ_k = (k+1)/K_c, ᾱ = coarseAB[k].
 *
 * How CSA meets τ_N (the handoff), worked out:
 *   CSA starts from pure noise at the top coarse level and makes one denoiser call at every coarse
 *   level strictly above the handoff, i.e. every k with τ_k > τ_N ⇔ (k+1)·T_f > N·K_c (integer
 *   comparison, exact). The ancestral step from the last of those coarse levels then jumps to
 *   τ_N itself; when τ_N lies on the coarse grid (N·K_c divisible by T_f) that jump is an ordinary
 *   coarse step, otherwise it is a shorter one. So CSA costs C(N) = #{k : (k+1)·T_f > N·K_c}
 *   calls and produces x_N (no call at τ_N itself).
 *   Check with the reference code (K_c = 10, T_f = 100, N = 10): coarse calls at τ = 1.0 … 0.2
 *   (k = 9 … 1, C = 9), the ninth step lands on τ = 0.1 = coarse k = 0 = fine level 10, whose
 *   ᾱ = 0.97209 on both grids — the reference's "second-last sample of a full 10-step run". (The
 *   reference then wastes the 10th coarse call; we do not, hence ≤ 19 calls rather than 20.)
 *   If N = T_f (τ_N = 1) there are no coarse levels above: x_N is pure noise and the fine pass
 *   must run level N.
 *
 *   - `csa`: CSA plus one call at τ_N, returning that call's x̂₀ → C(N) + 1 calls.
 *   - `skipdiff` / `fixed:<F>`: FSR walks fine levels N, N−1, …, 1. A level that is *run* costs one
 *     call; a skipped level costs nothing: the pending ancestral step from the previous run level
 *     (coarse or fine) simply jumps over it to the next run level — one larger step (§1.3). If
 *     level N is skipped, CSA's last coarse step therefore jumps straight to the first run fine
 *     level. Level 1 (the step to x₀) always runs; the result is its x̂₀.
 */
import type { ModelCard } from '../../shared/card';
import { fixedStrideCallsAt, knobToN } from '../../shared/card';

export type SamplerSpec =
  | { kind: 'ddpm'; steps: number }
  | { kind: 'ddim'; steps: number; eta: number }
  | { kind: 'csa' }
  | { kind: 'fixed'; calls: number }
  | { kind: 'skipdiff' };

/** 'skipdiff' | 'csa' | 'ddpm:<k>' | 'ddim:<k>' | 'ddim:<k>:<eta>' | 'fixed:<calls>'. */
export function parseSampler(name: string): SamplerSpec {
  const s = String(name).trim().toLowerCase();
  if (s === 'skipdiff') return { kind: 'skipdiff' };
  if (s === 'csa') return { kind: 'csa' };
  const m = /^(ddpm|ddim|fixed):(\d+)(?::([0-9.]+))?$/.exec(s);
  if (m) {
    const k = Number(m[2]);
    if (!Number.isInteger(k) || k < 1 || k > 10000) throw new Error(`sampler "${name}": step count must be an integer in 1..10000`);
    if (m[1] === 'ddim') {
      const eta = m[3] === undefined ? 0 : Number(m[3]);
      if (!(eta >= 0 && eta <= 1)) throw new Error(`sampler "${name}": eta must be in [0, 1]`);
      return { kind: 'ddim', steps: k, eta };
    }
    if (m[3] !== undefined) throw new Error(`sampler "${name}": unexpected third field`);
    return m[1] === 'ddpm' ? { kind: 'ddpm', steps: k } : { kind: 'fixed', calls: k };
  }
  throw new Error(`unknown sampler "${name}" (expected skipdiff, csa, ddpm:<k>, ddim:<k>, fixed:<calls>)`);
}

/** Uses the split point N (CSA + FSR family) rather than a plain K-step grid. */
export const usesSplit = (spec: SamplerSpec): boolean => spec.kind === 'csa' || spec.kind === 'fixed' || spec.kind === 'skipdiff';

/** Coarse indices run by CSA before handing over at fine level N, from the noisiest down. */
export function coarseIndicesAbove(coarseSteps: number, fineSteps: number, N: number): number[] {
  checkN(N, fineSteps);
  const out: number[] = [];
  for (let k = coarseSteps - 1; k >= 0; k--) if ((k + 1) * fineSteps > N * coarseSteps) out.push(k);
  return out;
}

/**
 * The fixed-stride rule (DESIGN §1.5, used without a policy and by `fixed:<F>`): run F of the fine
 * levels N … 1, or all of them when F ≥ N. The F levels are spaced as evenly as possible from N
 * down to 1, both ends included (level 1 is the step to x₀ and always runs):
 *   level_i = N − round(i·(N−1)/(F−1)), i = 0 … F−1   (F ≥ 2),   and just [1] for F = 1.
 * The spacing (N−1)/(F−1) ≥ 1 when F ≤ N, so the levels are distinct. Returned in descending order.
 */
export function fixedStrideLevels(N: number, F: number): number[] {
  if (!Number.isInteger(N) || N < 1) throw new RangeError(`N must be a positive integer: ${N}`);
  if (!Number.isInteger(F) || F < 1) throw new RangeError(`F must be a positive integer: ${F}`);
  if (F >= N) return Array.from({ length: N }, (_, i) => N - i);
  if (F === 1) return [1];
  const out: number[] = [];
  for (let i = 0; i < F; i++) out.push(N - Math.round((i * (N - 1)) / (F - 1)));
  return out;
}

function checkN(N: number, fineSteps: number) {
  if (!Number.isInteger(N) || N < 1 || N > fineSteps) throw new RangeError(`split N must be an integer in 1..${fineSteps}: ${N}`);
}

/** Split point N for a knob value, clamped to the fine grid. */
export function splitFor(card: Pick<ModelCard, 'sampler'>, fidelity: number): number {
  const N = knobToN(card, fidelity);
  return Math.min(card.sampler.fineSteps, Math.max(1, N));
}

/**
 * Denoiser calls per tile. Exact for every sampler except `skipdiff` with a policy, where the policy
 * decides at run time: then it is the upper bound C(N) + N.
 */
export function estimateCalls(card: ModelCard, sampler: string, fidelity: number): number {
  const spec = parseSampler(sampler);
  if (spec.kind === 'ddpm' || spec.kind === 'ddim') return spec.steps;
  const N = splitFor(card, fidelity);
  const C = coarseIndicesAbove(card.sampler.coarseSteps, card.sampler.fineSteps, N).length;
  if (spec.kind === 'csa') return C + 1;
  if (spec.kind === 'fixed') return C + Math.min(spec.calls, N);
  if (card.files.policy) return C + N;
  return C + fixedStrideCallsAt(card.sampler, N);
}
