/** What the knob implies for a model: split point N, call budget, time estimate for one photo. */
import { fixedStrideCallsAt, knobToN } from '../shared/card';
import type { MethodInfo, ModelInfo, SpeedSource } from '../shared/types';

export interface KnobFacts {
  /** Split point on the fine grid (null when the method has no knob). */
  n: number | null;
  coarse: number;
  fine: number;
  /** True when the skip policy decides: `fine` is then an upper bound. */
  fineIsMax: boolean;
  calls: number;
  tiles: number;
  /** Estimated time in ms, null when the model has no speed (measured or from its card). */
  estMs: number | null;
  /** Where the speed behind estMs comes from. */
  estSource: SpeedSource | null;
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

/** Tiles along one axis, and their length, as the engine lays them out (src/engine/diffusion/tiles.ts). */
function axisTiles(size: number, t: { size: number; overlap: number; multiple: number }): { count: number; len: number } {
  const n = Math.max(1, Math.round(size));
  if (n <= t.size) return { count: 1, len: Math.ceil(n / t.multiple) * t.multiple };
  return { count: Math.ceil((n - t.size) / Math.max(1, t.size - t.overlap)) + 1, len: t.size };
}

/**
 * The tiles the denoiser runs on for an output of outW × outH, and the same counted in 128²-tile
 * units (tile area / 128² each), which is what a "ms per 128² call" speed multiplies. Without the
 * model's tiling: 128² tiles, no overlap.
 */
export function tileWork(model: Pick<ModelInfo, 'tile'> | undefined, outW: number, outH: number): { tiles: number; units128: number } {
  const t = model?.tile;
  if (!t || !(t.size > 0) || !(t.multiple > 0)) {
    const tiles = tilesFor(outW, outH);
    return { tiles, units128: tiles };
  }
  const x = axisTiles(outW, t);
  const y = axisTiles(outH, t);
  const tiles = x.count * y.count;
  return { tiles, units128: (tiles * x.len * y.len) / (128 * 128) };
}

/** The model as method portrait runs it: on the CPU, so with its CPU speed. */
export function onCpu(model: ModelInfo | undefined): ModelInfo | undefined {
  if (!model || model.msPerCall128Cpu === undefined) return model;
  return { ...model, msPerCall128: model.msPerCall128Cpu, msPerCall128Source: model.msPerCall128CpuSource ?? null };
}

/** Where a combined estimate comes from: measured only when every part was. */
export function combineSources(...s: (SpeedSource | null | undefined)[]): SpeedSource | 'mixed' | null {
  const known = s.filter((x): x is SpeedSource => x != null);
  if (!known.length) return null;
  if (known.every((x) => x === 'measured')) return 'measured';
  if (known.every((x) => x === 'card')) return 'card';
  return 'mixed';
}

/** The words after an estimate saying where its speed comes from. */
export function sourceNote(s: SpeedSource | 'mixed' | null): string {
  if (s === 'measured') return 'measured on this computer';
  if (s === 'card') return 'reference machine';
  if (s === 'mixed') return 'partly reference machine';
  return '';
}
export function knobFacts(
  model: ModelInfo | undefined,
  sampler: string,
  knob: number,
  outW: number,
  outH: number,
): KnobFacts {
  if (!model) return { n: null, coarse: 0, fine: 0, fineIsMax: false, calls: 0, tiles: tilesFor(outW, outH), estMs: 0, estSource: null, knobApplies: false };
  const { tiles, units128 } = tileWork(model, outW, outH);
  const pts = model.knob && model.knob.length >= 2 ? model.knob : [[0, 2], [1, 40]] as [number, number][];
  const n = knobToN({ sampler: { knob: pts, coarseSteps: 1, fineSteps: 1, fixedStrideCalls: 1 } }, knob);
  const coarse = model.coarseSteps ?? 10;
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
    fine = fixedStrideCallsAt({ fixedStrideCalls: model.fixedStrideCalls ?? 10, fixedStrideCallsPerN: model.fixedStrideCallsPerN }, n);
  }
  const calls = c + fine;
  const ms = model.msPerCall128;
  const estMs = ms != null && ms > 0 ? units128 * calls * ms : null;
  const estSource = estMs == null ? null : (model.msPerCall128Source ?? 'card');
  return { n: knobApplies ? n : null, coarse: c, fine, fineIsMax, calls, tiles, estMs, estSource, knobApplies };
}
