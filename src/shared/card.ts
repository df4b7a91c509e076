/**
 * The model card (`models/<id>/card.json`): the one description of a model package that
 * training (Python), the engine, the bench and the app all read. Validated with zod.
 */
import { z } from 'zod';

export const KnobPoint = z.tuple([z.number().min(0).max(1), z.number().int().min(1)]);

export const ModelCard = z.object({
  /** Package id, equal to its folder name under models/. */
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
  version: z.string(),
  task: z.enum(['face', 'natural', 'face-blind']),
  /** Output/input scale factors the model serves; primaryScale is the one it was trained for. */
  scales: z.array(z.number().int().min(1)).min(1),
  primaryScale: z.number().int().min(1),
  /** How the input must be framed: aligned 128x128 faces, or any image (tiled). */
  framing: z.object({
    kind: z.enum(['aligned-face', 'any']),
    size: z.number().int().optional(),
    template: z.string().optional(),
  }),
  /** Tiling of the HR canvas the denoiser runs on. H and W fed to the network must be multiples of `multiple`. */
  tile: z.object({
    size: z.number().int().min(8),
    overlap: z.number().int().min(0),
    multiple: z.number().int().min(1),
  }),
  /** Training noise schedule (DESIGN.md 1.1). */
  schedule: z.object({
    kind: z.enum(['cosine', 'linear']),
    s: z.number().default(0.008),
    trainSteps: z.number().int().min(1),
  }),
  /** How gamma = sqrt(alpha_bar) enters the network (documentation for the engine; the input is always `gamma`). */
  gammaEmbedding: z.object({ kind: z.string(), scale: z.number() }),
  /**
   * ONNX input/output names. The denoiser's optional fourth input `mask` [B,1,H,W] (DESIGN §1.2, issue 17
   * item 2): 1 where the pixel is damaged and must be generated (its cond carries no information), 0 elsewhere;
   * a model that declares it was trained with synthetic damage inside random masks (degradation.damage) and
   * gets all zeros when nothing is repaired. See hasMaskInput.
   */
  io: z.object({
    denoiser: z.object({
      inputs: z.union([
        z.tuple([z.literal('x_t'), z.literal('cond'), z.literal('gamma')]),
        z.tuple([z.literal('x_t'), z.literal('cond'), z.literal('gamma'), z.literal('mask')]),
      ]),
      outputs: z.tuple([z.literal('eps')]),
    }),
    policy: z
      .object({
        inputs: z.array(z.string()),
        outputs: z.array(z.string()),
        imageSize: z.number().int(),
        hidden: z.number().int(),
      })
      .optional(),
  }),
  /** SkipDiff settings: coarse steps, fine grid, fixed-stride calls, knob -> N mapping (piecewise linear, rounded). */
  sampler: z.object({
    coarseSteps: z.number().int().min(1),
    fineSteps: z.number().int().min(1),
    fixedStrideCalls: z.number().int().min(1),
    /**
     * Without a policy: the fixed-stride rule runs at least this fraction of the N fine levels (default 0: always
     * fixedStrideCalls), so that a larger N (more detail) is not given fewer calls in all than a smaller one.
     */
    fixedStrideCallsPerN: z.number().min(0).max(1).optional(),
    knob: z.array(KnobPoint).min(2),
  }),
  /** Input degradation the model was trained for. */
  degradation: z.object({ kind: z.string(), details: z.string().optional() }).passthrough(),
  data: z.object({ sets: z.array(z.string()), licence: z.string() }).passthrough(),
  trainedOn: z.enum(['cpu', 'gpu', 'random']),
  training: z.record(z.string(), z.unknown()).optional(),
  architecture: z.record(z.string(), z.unknown()).optional(),
  metrics: z
    .object({
      /**
       * GFLOP of one denoiser call on a 128x128 tile at batch 1: 2 x the multiply-accumulates of its
       * Conv/ConvTranspose/MatMul/Gemm nodes from ONNX shape inference (bench/onnx_flops.py --cards --write).
       */
      gflopsPerCall128: z.number().positive().optional(),
      /** What gflopsPerCall128 counts (free text). */
      gflopsCounted: z.string().optional(),
    })
    .catchall(z.unknown())
    .optional(),
  files: z.object({
    denoiser: z.string(),
    policy: z.string().optional(),
    /**
     * Optional int8 QDQ export of the same denoiser (same I/O; per-channel int8 weights, calibrated
     * uint8 activations on the Convs that pass the quality gate, bench/int8/README.md); metrics.int8
     * records its measured deltas to the float denoiser (dPsnr, dNiqe: the 'auto' precision setting runs it on
     * the cpu provider only when both are within ±0.05, src/engine/catalogue.ts resolvePrecision).
     */
    denoiserInt8: z.string().optional(),
  }),
});
export type ModelCard = z.infer<typeof ModelCard>;

/** Whether the package's denoiser takes the damage mask as a fourth input (io.denoiser.inputs ends with 'mask'). */
export function hasMaskInput(card: Pick<ModelCard, 'io'>): boolean {
  return card.io.denoiser.inputs.length === 4;
}

/**
 * GFLOP per image from the denoiser calls summed over its tiles: calls x the card's per-call cost,
 * scaled from 128x128 to the card's tile area (a fully convolutional net's cost is linear in pixels).
 * null when the card does not record gflopsPerCall128.
 */
export function gflopsPerImage(card: Pick<ModelCard, 'tile' | 'metrics'>, calls: number): number | null {
  const g = card.metrics?.gflopsPerCall128;
  if (typeof g !== 'number' || !Number.isFinite(calls)) return null;
  return calls * g * (card.tile.size * card.tile.size) / (128 * 128);
}

/** Knob (0 = faithful, 1 = detailed) to split point N on the fine grid: piecewise linear over card points, rounded, monotone. */
export function knobToN(card: Pick<ModelCard, 'sampler'>, knob: number): number {
  const pts = [...card.sampler.knob].sort((a, b) => a[0] - b[0]);
  const k = Math.min(1, Math.max(0, knob));
  if (k <= pts[0][0]) return pts[0][1];
  for (let i = 1; i < pts.length; i++) {
    const [k0, n0] = pts[i - 1];
    const [k1, n1] = pts[i];
    if (k <= k1) {
      const t = k1 === k0 ? 1 : (k - k0) / (k1 - k0);
      return Math.round(n0 + t * (n1 - n0));
    }
  }
  return pts[pts.length - 1][1];
}

export type ScaleStep = { kind: 'sr'; scale: number } | { kind: 'down'; factor: number };

/**
 * The passes that make `scale` with this card: a scale it serves, else ×primary passes then more
 * (×8 = ×4, ×2 with a ×4 model, where ×2 is itself ×4 then an antialiased ÷2), or ×primary then a
 * downscale. Throws a clear error.
 */
export function scaleRoute(card: Pick<ModelCard, 'id' | 'scales' | 'primaryScale'>, scale: number, depth = 0): ScaleStep[] {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive integer: ${scale}`);
  const p = card.primaryScale;
  if (card.scales.includes(scale)) return [{ kind: 'sr', scale }];
  if (depth < 4 && scale > p && scale % p === 0) return [{ kind: 'sr', scale: p }, ...scaleRoute(card, scale / p, depth + 1)];
  if (scale < p && p % scale === 0) return [{ kind: 'sr', scale: p }, { kind: 'down', factor: p / scale }];
  throw new Error(`model "${card.id}" serves scales ×${card.scales.join(', ×')} (primary ×${p}); ×${scale} is neither a multiple nor a divisor of ×${p}`);
}

/** Whether the engine can make `scale` with this card (served, or reached by passes and a downscale). */
export function canReach(card: Pick<ModelCard, 'id' | 'scales' | 'primaryScale'>, scale: number): boolean {
  try {
    scaleRoute(card, scale);
    return true;
  } catch {
    return false;
  }
}

/** The app's scales (×2, ×4, ×8) this card can make. */
export function reachableScales(card: Pick<ModelCard, 'id' | 'scales' | 'primaryScale'>, candidates: readonly number[] = [2, 4, 8]): number[] {
  return candidates.filter((s) => canReach(card, s));
}

/**
 * The usable package of `task` for `scale`: one that serves the scale itself first, else the first that
 * reaches it by its own passes and a downscale (a ×4 natural model at ×2 and ×8). List order breaks ties.
 */
export function pickForScale<T extends { ok: boolean; card?: { id: string; task: string; scales: number[]; primaryScale: number } | null }>(
  list: readonly T[],
  task: string,
  scale: number,
): T | undefined {
  const ok = list.filter((m) => m.ok && m.card?.task === task);
  return ok.find((m) => m.card!.scales.includes(scale)) ?? ok.find((m) => canReach(m.card!, scale));
}

/**
 * `auto`'s natural package by the photo's degradation (bench/README-auto.md): a clean photo gets the
 * bicubic-trained package, a degraded one the first installed of degradation kind 'real', then
 * 'oldphoto', then 'bicubic'; with none of those kinds, pickForScale's choice.
 */
export function pickNaturalByDegradation<
  T extends { ok: boolean; card?: { id: string; task: string; scales: number[]; primaryScale: number; degradation?: { kind: string } } | null },
>(list: readonly T[], scale: number, degraded: boolean): T | undefined {
  for (const kind of degraded ? ['real', 'oldphoto', 'bicubic'] : ['bicubic']) {
    const hit = pickForScale(list.filter((m) => m.card?.degradation?.kind === kind), 'natural', scale);
    if (hit) return hit;
  }
  return pickForScale(list, 'natural', scale);
}

/** Fine calls of the fixed-stride rule at split N: fixedStrideCalls, at least fixedStrideCallsPerN × N, at most N. */
export function fixedStrideCallsAt(sampler: { fixedStrideCalls: number; fixedStrideCallsPerN?: number }, N: number): number {
  return Math.min(N, Math.max(sampler.fixedStrideCalls, Math.round((sampler.fixedStrideCallsPerN ?? 0) * N)));
}
