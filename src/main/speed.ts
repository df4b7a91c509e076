/**
 * Measured denoiser speed per (model, execution provider): "ms per 128²-tile denoiser call", learnt
 * from finished diffusion jobs and kept in the settings store. The knob panel's time estimate is
 * tiles × calls × this speed; a model card's `metrics.msPerCall128` (a reference machine) is the
 * fallback until this computer has measured one. Pure functions; core.ts does the I/O.
 *
 * A sample is the job's sampling time (restoreDiffusion's msSampling: onnxruntime plus the sampler's
 * own arithmetic, without decoding, model loading, encoding or metrics) over its denoiser calls
 * counted in 128²-tile units (the engine's `calls128`: calls × tile area / 128², so models with other
 * tile sizes, and tiles cut smaller at an image edge, compare). Jobs with few calls are ignored (their
 * time is mostly per-run overhead); the estimate is a running mean over the first samples, then an
 * exponential moving average with each sample clamped to a factor of the current estimate, so one
 * slow job (another program busy, a GPU warming up) moves it only a little.
 *
 * int8 runs (the cpu provider with a package's int8 denoiser, catalogue.ts resolvePrecision) are a speed of
 * their own: their run key is `cpu+int8`, and what a (provider setting, precision setting) pair ran on is
 * remembered like the provider alone. Tables from before precision existed read as fp32.
 */
import { z } from 'zod';
import type { ModelInfo, Result, ResultFields, Settings } from '../shared/types';

/** Jobs with fewer denoiser calls (128² units) than this teach nothing. */
export const MIN_CALLS128 = 8;
/** Weight of a new sample once a few were seen. */
export const EMA_ALPHA = 0.25;
/** A sample counts at most this factor away from the current estimate. */
export const MAX_STEP_FACTOR = 3;

export interface SpeedEntry {
  /** ms per denoiser call on a 128×128 tile. */
  ms: number;
  /** Samples seen. */
  n: number;
  /** When it was last updated (ISO). */
  at: string;
}

export interface SpeedTable {
  /** Key `${modelId}|${run}`, run = the provider as run (cpu, webgpu, …), `cpu+int8` for an int8 denoiser. */
  entries: Record<string, SpeedEntry>;
  /**
   * Key `${modelId}|${providerSetting}` (fp32) or `${modelId}|${providerSetting}|${precisionSetting}` → the run
   * that setting pair ran on last time (auto → webgpu or cpu; precision auto → cpu+int8 or cpu).
   */
  resolved: Record<string, string>;
}

/** The run key of a denoiser run: the provider, `+int8` when the int8 denoiser ran. */
export const runKey = (provider: string, precision?: string | null): string => (precision === 'int8' ? `${provider}+int8` : provider);
const resolvedKey = (modelId: string, setting: string, precisionSetting?: string | null) =>
  !precisionSetting || precisionSetting === 'fp32' ? `${modelId}|${setting}` : `${modelId}|${setting}|${precisionSetting}`;

export const SpeedTableSchema = z.object({
  entries: z.record(z.string().max(300), z.object({ ms: z.number().positive().finite(), n: z.number().int().min(1), at: z.string().max(64) })),
  resolved: z.record(z.string().max(300), z.string().max(32)),
});

export function emptySpeedTable(): SpeedTable {
  return { entries: {}, resolved: {} };
}

/** A stored table, or an empty one when it is missing or damaged. */
export function parseSpeedTable(x: unknown): SpeedTable {
  const r = SpeedTableSchema.safeParse(x);
  return r.success ? r.data : emptySpeedTable();
}

export interface SpeedSample {
  modelId: string;
  /** What the denoiser ran on: runKey(provider, precision). */
  provider: string;
  /** The provider setting that chose it, when the job went through provider selection. */
  setting?: string;
  /** The precision setting that chose fp32 or int8, when the job recorded one. */
  precisionSetting?: string;
  ms: number;
  calls128: number;
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const str = (x: unknown): string | null => (typeof x === 'string' && x ? x : null);
/** A recorded precision decision ({setting, precision, reason}) as (setting, precision). */
const prec = (x: unknown): { setting: string | null; precision: string | null } => {
  const p = x && typeof x === 'object' ? (x as Record<string, unknown>) : {};
  return { setting: str(p.setting), precision: str(p.precision) };
};

/** What a finished job teaches about denoiser speed: one sample per diffusion model it ran. */
export function speedSamples(result: Pick<Result | ResultFields, 'info' | 'modelId'>): SpeedSample[] {
  const info = result.info ?? {};
  const out: SpeedSample[] = [];
  const portrait = info.portrait as Record<string, unknown> | undefined;
  if (portrait && typeof portrait === 'object') {
    // Portrait runs its models on the CPU (src/engine/restore.ts).
    const provider = str(info.provider) ?? 'cpu';
    const bg = str(portrait.background);
    const bgMs = num(portrait.msBackgroundSampling);
    const bgCalls = num(portrait.backgroundCalls128);
    const bgP = prec(portrait.backgroundPrecision);
    if (bg && bg !== 'lanczos' && bgMs != null && bgCalls != null) out.push({ modelId: bg, provider: runKey(provider, bgP.precision), precisionSetting: bgP.setting ?? undefined, ms: bgMs, calls128: bgCalls });
    const face = str(portrait.faceModel);
    let ms = 0;
    let calls128 = 0;
    for (const f of Array.isArray(portrait.faces) ? (portrait.faces as Record<string, unknown>[]) : []) {
      const m = num(f?.msSampling);
      const c = num(f?.calls128);
      if (f?.restored && m != null && c != null) {
        ms += m;
        calls128 += c;
      }
    }
    const faceP = prec(portrait.facePrecision);
    if (face && calls128 > 0) out.push({ modelId: face, provider: runKey(provider, faceP.precision), precisionSetting: faceP.setting ?? undefined, ms, calls128 });
  } else {
    const modelId = str(info.modelId) ?? result.modelId;
    const ms = num(info.msSampling);
    const calls128 = num(info.calls128);
    const choice = info.providerChoice as { setting?: unknown } | undefined;
    const p = prec(info.precision);
    if (modelId && ms != null && calls128 != null) {
      out.push({ modelId, provider: runKey(str(info.provider) ?? 'cpu', p.precision), setting: str(choice?.setting) ?? undefined, precisionSetting: p.setting ?? undefined, ms, calls128 });
    }
  }
  return out.filter((s) => s.calls128 >= MIN_CALLS128 && s.ms > 0);
}

/** One running-estimate step: the first samples average, later ones move it by EMA_ALPHA (clamped). */
export function updateEstimate(prev: SpeedEntry | undefined, msPerCall: number, at: string): SpeedEntry {
  if (!prev) return { ms: msPerCall, n: 1, at };
  const clamped = Math.min(prev.ms * MAX_STEP_FACTOR, Math.max(prev.ms / MAX_STEP_FACTOR, msPerCall));
  const alpha = Math.max(EMA_ALPHA, 1 / (prev.n + 1));
  return { ms: prev.ms + alpha * (clamped - prev.ms), n: prev.n + 1, at };
}

/** The table after a job's samples (a new object; the input is not changed). */
export function recordSamples(table: SpeedTable, samples: SpeedSample[], at = new Date().toISOString()): SpeedTable {
  const next: SpeedTable = { entries: { ...table.entries }, resolved: { ...table.resolved } };
  for (const s of samples) {
    const key = `${s.modelId}|${s.provider}`;
    next.entries[key] = updateEstimate(next.entries[key], s.ms / s.calls128, at);
    if (s.setting) next.resolved[resolvedKey(s.modelId, s.setting, s.precisionSetting)] = s.provider;
  }
  return next;
}

/**
 * The measured speed of `modelId` under a provider setting: the provider that setting ran on last
 * time for this model (a concrete setting is its own provider until then; 'auto' is unknown until it
 * ran once). Null when nothing was measured there.
 */
export function measuredSpeed(table: SpeedTable, modelId: string, setting: Settings['provider'] | string, precisionSetting: string = 'fp32'): number | null {
  const resolved = table.resolved[resolvedKey(modelId, setting, precisionSetting)];
  if (resolved) return table.entries[`${modelId}|${resolved}`]?.ms ?? null;
  // Not run yet with this pair: a concrete provider is its own run; int8 runs only on the cpu; precision auto there
  // is the int8 speed when one was measured (auto chose int8 before), else the float one.
  if (setting === 'auto') return null;
  const at = (run: string) => table.entries[`${modelId}|${run}`]?.ms ?? null;
  if (precisionSetting === 'fp32') return at(setting);
  if (precisionSetting === 'int8') return setting === 'cpu' ? at('cpu+int8') : null;
  return (setting === 'cpu' ? at('cpu+int8') : null) ?? at(setting);
}

type Speed = Pick<ModelInfo, 'msPerCall128' | 'msPerCall128Source'>;

function pick(measured: number | null, card: number | null | undefined): Speed {
  if (measured != null) return { msPerCall128: Math.round(measured * 100) / 100, msPerCall128Source: 'measured' };
  if (card != null) return { msPerCall128: card, msPerCall128Source: 'card' };
  return { msPerCall128: null, msPerCall128Source: null };
}

/**
 * A models-list entry with its speed for the current provider setting (measured first, else the
 * card's reference) and on the CPU (what portrait runs on). `cardMs` is the card's metrics.msPerCall128.
 */
export function withSpeed(m: ModelInfo, cardMs: number | null | undefined, table: SpeedTable, setting: Settings['provider'], precisionSetting: string = 'fp32'): ModelInfo {
  if (!m.ok) return m;
  const cur = pick(measuredSpeed(table, m.id, setting, precisionSetting), cardMs);
  const cpu = pick(measuredSpeed(table, m.id, 'cpu', precisionSetting), cardMs);
  return { ...m, ...cur, msPerCall128Cpu: cpu.msPerCall128, msPerCall128CpuSource: cpu.msPerCall128Source };
}
