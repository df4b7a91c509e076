/** What the knob implies for a model: split point N, call budget, time estimate for one photo. */
import { knobToN } from '../shared/card';
import type { MethodInfo, ModelInfo } from '../shared/types';

export interface KnobFacts {
  /** Split point on the fine grid (null when the method has no knob). */
  n: number | null;
  coarse: number;
  fine: number;
  /** True when the skip policy decides: `fine` is then an upper bound. */
  fineIsMax: boolean;
  calls: number;
  tiles: number;
  /** Estimated time in ms, null when the model has no measured speed. */
  estMs: number | null;
  knobApplies: boolean;
}

/** The diffusion model a method id stands for ('auto' takes the first usable model for the scale). */
export function modelFor(method: string, models: ModelInfo[], methods: MethodInfo[], scale: number): ModelInfo | undefined {
  const info = methods.find((m) => m.id === method);
  if (info?.kind === 'classic') return undefined;
  // Portrait: the knob drives the face model (and the natural background, when there is one).
  if (method === 'portrait') return faceModelOf(models);
  const direct = models.find((m) => m.id === method && m.ok);
  if (direct) return direct;
  if (info?.kind === 'auto' || method === 'auto') {
    return models.find((m) => m.ok && (m.scales ?? []).includes(scale)) ?? models.find((m) => m.ok);
  }
  return undefined;
}

/** The face package portrait uses: face-x8 when present, else the first usable face model. */
export function faceModelOf(models: ModelInfo[]): ModelInfo | undefined {
  const faces = models.filter((m) => m.ok && m.task === 'face');
  return faces.find((m) => m.id === 'face-x8') ?? faces[0];
}

/** The natural package that enlarges portrait's background at `scale`, if any. */
export function naturalModelFor(models: ModelInfo[], scale: number): ModelInfo | undefined {
  return models.find((m) => m.ok && m.task === 'natural' && (m.scales ?? []).includes(scale));
}

export function tilesFor(outW: number, outH: number, tile = 128): number {
  return Math.max(1, Math.ceil(outW / tile)) * Math.max(1, Math.ceil(outH / tile));
}

export function knobFacts(
  model: ModelInfo | undefined,
  sampler: string,
  knob: number,
  outW: number,
  outH: number,
): KnobFacts {
  const tiles = tilesFor(outW, outH);
  if (!model) return { n: null, coarse: 0, fine: 0, fineIsMax: false, calls: 0, tiles, estMs: 0, knobApplies: false };
  const pts = model.knob && model.knob.length >= 2 ? model.knob : [[0, 2], [1, 40]] as [number, number][];
  const n = knobToN({ sampler: { knob: pts, coarseSteps: 1, fineSteps: 1, fixedStrideCalls: 1 } }, knob);
  const coarse = model.coarseSteps ?? 10;
  const F = model.fixedStrideCalls ?? 10;
  let c = coarse;
  let fine = 0;
  let fineIsMax = false;
  let knobApplies = true;
  const m = /^(ddpm|ddim|fixed):(\d+)$/.exec(sampler);
  if (sampler === 'csa') {
    fine = 0;
  } else if (m && (m[1] === 'ddpm' || m[1] === 'ddim')) {
    c = Number(m[2]);
    fine = 0;
    knobApplies = false;
  } else if (m && m[1] === 'fixed') {
    fine = Math.min(Number(m[2]), n);
  } else if (model.hasPolicy) {
    fine = n;
    fineIsMax = true;
  } else {
    fine = Math.min(F, n);
  }
  const calls = c + fine;
  const estMs = model.msPerCall128 != null ? tiles * calls * model.msPerCall128 : null;
  return { n: knobApplies ? n : null, coarse: c, fine, fineIsMax, calls, tiles, estMs, knobApplies };
}
