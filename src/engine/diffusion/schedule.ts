/**
 * Noise schedules (DESIGN.md §1.1) and the one-step maths between any two levels (§1.3).
 * Pure functions, float64 scalars; the per-element kernels work in place on Float32Arrays.
 *
 * Levels are identified by their ᾱ (alpha-bar) value. ᾱ = 1 is the clean image x₀.
 * A K-step grid has indices k = 0 … K-1 (0-based, k = 0 least noisy), τ_k = (k+1)/K.
 */
import type { Rng } from './rng';

export type ScheduleKind = 'cosine' | 'linear';
export const COSINE_S = 0.008;
export const MAX_BETA = 0.999;

/** Continuous cosine ᾱ(τ) = f(τ)/f(0), f(τ) = cos(((τ+s)/(1+s))·π/2)². */
export function cosineAlphaBarCont(tau: number, s = COSINE_S): number {
  const f = (t: number) => Math.cos(((t + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  return f(tau) / f(0);
}

/**
 * K-step cosine schedule, the discrete product definition: β_k = min(1 − ᾱ(τ_k)/ᾱ(τ_{k−1}), 0.999)
 * with τ_{−1} = 0, ᾱ_k = Π_{i≤k}(1 − β_i). Only the last β (at τ = 1, where ᾱ(1) ≈ 0) is clipped,
 * so ᾱ_k equals the continuous ᾱ(τ_k) everywhere except ᾱ_{K−1} = 0.001·ᾱ_{K−2}.
 */
export function cosineAlphaBars(K: number, s = COSINE_S, maxBeta = MAX_BETA): Float64Array {
  checkK(K);
  const out = new Float64Array(K);
  let prev = cosineAlphaBarCont(0, s);
  let prod = 1;
  for (let k = 0; k < K; k++) {
    const cur = cosineAlphaBarCont((k + 1) / K, s);
    const beta = Math.min(1 - cur / prev, maxBeta);
    prod *= 1 - beta;
    out[k] = prod;
    prev = cur;
  }
  return out;
}

/** DDPM linear schedule: β = linspace(1e-4·1000/K, min(0.02·1000/K, 0.999), K) (Ho et al. at K = 1000). */
export function linearAlphaBars(K: number, betaStart = 1e-4, betaEnd = 2e-2): Float64Array {
  checkK(K);
  const scale = 1000 / K;
  const b0 = betaStart * scale;
  const b1 = Math.min(betaEnd * scale, MAX_BETA);
  const out = new Float64Array(K);
  let prod = 1;
  for (let k = 0; k < K; k++) {
    const beta = K === 1 ? b0 : b0 + ((b1 - b0) * k) / (K - 1);
    prod *= 1 - beta;
    out[k] = prod;
  }
  return out;
}

const cache = new Map<string, Float64Array>();
/** ᾱ of a K-step grid of the given kind (cached; do not mutate the result). */
export function alphaBars(kind: ScheduleKind, K: number, s = COSINE_S): Float64Array {
  const key = `${kind}:${K}:${s}`;
  let v = cache.get(key);
  if (!v) {
    v = kind === 'cosine' ? cosineAlphaBars(K, s) : kind === 'linear' ? linearAlphaBars(K) : bad(kind);
    cache.set(key, v);
  }
  return v;
}

/** γ = sqrt(ᾱ): the noise level the network is conditioned on. */
export const gammaOf = (alphaBar: number): number => Math.sqrt(alphaBar);

function checkK(K: number) {
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`schedule length must be a positive integer: ${K}`);
}
function bad(kind: string): never {
  throw new Error(`unknown schedule kind "${kind}"`);
}

// ------------------------------------------------------------------ one step between two levels

export interface PosteriorCoefs {
  /** mean = cX0·x̂₀ + cXa·x_a */
  cX0: number;
  cXa: number;
  variance: number;
}

/**
 * Gaussian posterior q(x_b | x_a, x̂₀) from level a to a less noisy level b (ᾱ_b > ᾱ_a), DESIGN §1.3:
 *   mean = sqrt(ᾱ_b)(1 − ᾱ_a/ᾱ_b)/(1 − ᾱ_a)·x̂₀ + sqrt(ᾱ_a/ᾱ_b)(1 − ᾱ_b)/(1 − ᾱ_a)·x_a
 *   var  = (1 − ᾱ_b)/(1 − ᾱ_a)·(1 − ᾱ_a/ᾱ_b)
 * With b = x₀ (ᾱ_b = 1) this is (1, 0, 0): the step returns x̂₀.
 */
export function posteriorCoefs(abA: number, abB: number): PosteriorCoefs {
  if (!(abB > abA)) throw new RangeError(`posterior step must go to a less noisy level (ᾱ_b=${abB} ≤ ᾱ_a=${abA})`);
  const ratio = abA / abB;
  return {
    cX0: (Math.sqrt(abB) * (1 - ratio)) / (1 - abA),
    cXa: (Math.sqrt(ratio) * (1 - abB)) / (1 - abA),
    variance: ((1 - abB) / (1 - abA)) * (1 - ratio),
  };
}

/** x̂₀ = (x_t − sqrt(1−ᾱ)·ε)/sqrt(ᾱ), clipped to [−1, 1]; written into `out` (may alias x or eps). */
export function x0FromEps(x: Float32Array, eps: Float32Array, alphaBar: number, out: Float32Array): Float32Array {
  const a = 1 / Math.sqrt(alphaBar);
  const b = Math.sqrt(1 - alphaBar) / Math.sqrt(alphaBar);
  const n = out.length;
  for (let i = 0; i < n; i++) {
    // Branch-free clamp to [-1, 1]: ½(|v+1| − |v−1|). Whether a noisy pixel clips, and to which
    // side, is unpredictable, and V8's Math.min/max and ?: compile to branches (3× slower here).
    const v = a * x[i] - b * eps[i];
    out[i] = 0.5 * (Math.abs(v + 1) - Math.abs(v - 1));
  }
  return out;
}

/**
 * Ancestral DDPM step a → b in place on `x` (x_a becomes x_b), with the lane's RNG for the noise.
 * ᾱ_b = 1 copies x̂₀ (the last step returns x̂₀).
 */
export function ddpmStep(x: Float32Array, x0: Float32Array, abA: number, abB: number, rng: Rng): void {
  if (abB >= 1) {
    x.set(x0);
    return;
  }
  const { cX0, cXa, variance } = posteriorCoefs(abA, abB);
  rng.fusedAxpbyNormal(x, x0, cX0, cXa, Math.sqrt(variance));
}

let scratch = new Float32Array(0);
/** A reused noise buffer (JS is single-threaded; callers use it before the next call). */
function noiseScratch(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(n);
  return scratch.subarray(0, n);
}

/**
 * DDIM step a → b in place on `x` (Song et al.), ε re-derived from the clipped x̂₀ so that clipping
 * stays consistent: σ = eta·sqrt(var_posterior); x_b = sqrt(ᾱ_b)·x̂₀ + sqrt(1 − ᾱ_b − σ²)·ε̂ + σ·z.
 * eta = 0 is deterministic (no RNG draws); eta = 1 has the DDPM posterior's variance.
 */
export function ddimStep(x: Float32Array, x0: Float32Array, abA: number, abB: number, eta: number, rng: Rng | null): void {
  if (abB >= 1) {
    x.set(x0);
    return;
  }
  if (!(abB > abA)) throw new RangeError(`DDIM step must go to a less noisy level (ᾱ_b=${abB} ≤ ᾱ_a=${abA})`);
  const sigma = eta > 0 ? eta * Math.sqrt(posteriorCoefs(abA, abB).variance) : 0;
  const sqA = Math.sqrt(abA);
  const inv1A = 1 / Math.sqrt(1 - abA);
  const sqB = Math.sqrt(abB);
  const cEps = Math.sqrt(Math.max(1 - abB - sigma * sigma, 0));
  const n = x.length;
  if (sigma > 0) {
    if (!rng) throw new Error('DDIM with eta > 0 needs an RNG');
    const z = rng.fillNormal(noiseScratch(n));
    for (let i = 0; i < n; i++) {
      const e = (x[i] - sqA * x0[i]) * inv1A;
      x[i] = sqB * x0[i] + cEps * e + sigma * z[i];
    }
  } else {
    for (let i = 0; i < n; i++) {
      const e = (x[i] - sqA * x0[i]) * inv1A;
      x[i] = sqB * x0[i] + cEps * e;
    }
  }
}
