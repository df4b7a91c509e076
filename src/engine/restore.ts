/**
 * One restoration, start to end: decode → (classic resample | diffusion) → encode. Runs inside the
 * engine host (off the main thread); the CLI and tests can also call it directly.
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { decodeImage, encodeImage, type EncodeFormat } from './image-io';
import { CancelledError, InputError } from './errors';
import type { ImageU8 } from './image';
import { cropU8, f32ToU8, isGrey, u8ToF32 } from './image';
import { resampleU8 } from './resample';
import { detectDamage } from './damage/detect';
import { inpaintTelea } from './damage/inpaint';
import { cropMask, fitMask, maskFromImage, maskPixels, type Mask } from './damage/mask';
import { isClassicMethod, type FaceParams, type PrecisionSetting, type Region, type RepairRecord, type RestoreParams, type ResultFields } from '../shared/types';
import { autoDegraded, estimateDegradation, type DegradationEstimate } from './degradation';
import { Catalogue, choiceInfo, openModel } from './catalogue';
import { hasMaskInput } from '../shared/card';
import { defaultJumps } from './diffusion/repair';
import type { RestoreOffload } from './offload';

export { resolveMethod } from './catalogue';

export interface RestoreRequest {
  input: string;
  output: string;
  params: RestoreParams;
  format: EncodeFormat;
  quality?: number;
  keepMetadata?: boolean;
  /** Folders searched for model packages. */
  modelDirs: string[];
  threads?: number;
  /** Execution provider setting ('auto' | 'cpu' | 'webgpu' | 'dml' | 'coreml' | 'cuda'; see providers.ts). Absent: cpu, no self-test. */
  provider?: string;
  /** Denoiser precision setting ('auto' | 'fp32' | 'int8'; catalogue.ts resolvePrecision). Absent: fp32. */
  precision?: PrecisionSetting;
  /**
   * Damage repair (issue 17): `mask` a mask PNG (white = damaged) of the photo, or `detect` to find
   * the damage with the classical detector. The damaged pixels are filled by Telea before any
   * method; diffusion methods also resample them (`jumps` RePaint-style jumps, default 2), and a
   * package whose denoiser takes the mask (card hasMaskInput) gets it as an input, with no jumps by
   * default (diffusion/repair.ts).
   */
  repair?: { mask?: string; detect?: boolean; jumps?: number };
}

export interface RestoreProgress {
  fraction: number;
  tile?: { i: number; n: number };
  step?: { k: number; K: number };
  message?: string;
}

/** The engine's answer: every field of a library result but its id, photo, kind and date. */
export type RestoreOutcome = ResultFields;

export interface RestoreContext {
  signal?: AbortSignal;
  onProgress?: (p: RestoreProgress) => void;
  /**
   * Where the CPU work beside inference runs (auto's degradation estimate, face detection, result
   * metrics): the engine host's helper thread (offload.ts), so that it overlaps another job's
   * inference (issue 19.3). Absent: in this thread. Same answers either way.
   */
  offload?: RestoreOffload;
}

/** The progress message of a job waiting for another job's inference section to end (issue 19.3). */
export const WAITING_FOR_ENGINE = 'waiting for the engine';

/**
 * One job at a time inside onnxruntime in this process (issue 19.3): the engine host runs several
 * restores at once (decode, face detection, encode and metrics overlap with inference), but the
 * inference section (model sessions opened, diffusion pass, face restores) is entered by one at a
 * time, first come first served, so the session's threads are never oversubscribed and each pass
 * runs exactly as it would alone. A waiter whose signal aborts leaves the line (CancelledError).
 */
export class InferenceLock {
  private held = false;
  private waiters: (() => void)[] = [];

  /** True while a job is inside the section. */
  get busy(): boolean {
    return this.held;
  }

  /** Number of jobs waiting to enter. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves with the release function once this caller holds the section. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new CancelledError());
    if (!this.held) {
      this.held = true;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.releaser());
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new CancelledError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(grant);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // handed straight to the next in line (held stays true), or free
      if (next) next();
      else this.held = false;
    };
  }
}

/** This process's inference lock (one per engine host; in-process callers of runRestore share it). */
export const inferenceLock = new InferenceLock();

/** Runs `fn` inside the inference section; reports WAITING_FOR_ENGINE while another job holds it. */
async function inInference<T>(ctx: RestoreContext, fraction: number, fn: () => Promise<T>): Promise<T> {
  const waited = inferenceLock.busy;
  if (waited) ctx.onProgress?.({ fraction, message: WAITING_FOR_ENGINE });
  const release = await inferenceLock.acquire(ctx.signal);
  try {
    if (waited) ctx.onProgress?.({ fraction, message: 'restoring' });
    return await fn();
  } finally {
    release();
  }
}

type DiffusionModule = typeof import('./diffusion/index');
let diffusionModule: Promise<DiffusionModule> | null = null;
function loadDiffusion(): Promise<DiffusionModule> {
  diffusionModule ??= import('./diffusion/index');
  return diffusionModule;
}

/** Optional metrics module (LR-consistency, no-reference score). */
type MetricsModule = typeof import('./result-metrics');
let metricsModule: Promise<MetricsModule | null> | null = null;
function loadMetrics(): Promise<MetricsModule | null> {
  metricsModule ??= import('./result-metrics').catch(() => null);
  return metricsModule;
}

/**
 * `auto`'s natural package for this photo (the whole photo, also for a preview region, so previews and
 * the full restore agree): the degradation estimate of a centre crop of at most 1024² and the file's
 * JPEG tables decide between the bicubic-trained and the real/old-photo packages (pickNaturalByDegradation).
 * `models`: the restore's catalogue, or the model folders to list.
 */
export async function autoChoice(photo: ImageU8, file: string, scale: number, models: Catalogue | readonly string[], offload?: RestoreOffload): Promise<{ model: string; reason: string; estimate: DegradationEstimate }> {
  const { readFile } = await import('node:fs/promises');
  const side = (n: number) => Math.min(n, 1024);
  const crop = cropU8(photo, { x: (photo.width - side(photo.width)) >> 1, y: (photo.height - side(photo.height)) >> 1, w: side(photo.width), h: side(photo.height) });
  const bytes = new Uint8Array(await readFile(file));
  const estimate = offload ? await offload.estimateDegradation(crop, bytes, file) : estimateDegradation(crop, bytes, file);
  const { degraded, reason } = autoDegraded(estimate);
  const hit = (models instanceof Catalogue ? models : Catalogue.list(models)).naturalFor(scale, degraded);
  const kind = hit?.card?.degradation?.kind;
  return { model: hit ? hit.id : 'lanczos', reason: `${reason}: ${degraded ? 'degraded' : 'clean'}, ${hit ? `${kind}-trained ${hit.id}` : 'no natural package'}`, estimate };
}

/**
 * The user's faces (photo pixels, indices into `faces`) for a restore of `region` (a preview), or of
 * the whole photo: boxes shifted into the region, only faces centred inside it kept, their exclusions
 * and knobs re-indexed. Without `faces` (the engine detects), indices pass unchanged.
 */
export function facesForRegion(params: FaceParams, region: Region | null): FaceParams {
  const { faces, excludeFaces, faceFidelity } = params;
  if (!faces || !region) return { faces, excludeFaces, faceFidelity };
  const keep: number[] = [];
  faces.forEach((b, i) => {
    const cx = b.x + b.w / 2;
    const cy = b.y + b.h / 2;
    if (cx >= region.x && cx < region.x + region.w && cy >= region.y && cy < region.y + region.h) keep.push(i);
  });
  const ex = new Set(excludeFaces ?? []);
  const out: FaceParams = { faces: keep.map((i) => ({ ...faces[i], x: faces[i].x - region.x, y: faces[i].y - region.y })), excludeFaces: [], faceFidelity: {} };
  keep.forEach((i, j) => {
    if (ex.has(i)) out.excludeFaces!.push(j);
    const f = faceFidelity?.[String(i)];
    if (f !== undefined) out.faceFidelity![String(j)] = f;
  });
  return out;
}

export async function runRestore(req: RestoreRequest, ctx: RestoreContext = {}): Promise<RestoreOutcome> {
  const t0 = performance.now();
  const { params } = req;
  const check = () => {
    if (ctx.signal?.aborted) throw new CancelledError();
  };
  ctx.onProgress?.({ fraction: 0, message: 'decoding' });
  const { meta, rgb: full, alpha: fullAlpha } = await decodeImage(req.input);
  check();
  const repair = req.repair ? await repairMask(req.repair, full, req.input) : null;
  const rgb0 = params.region ? cropU8(full, params.region) : full;
  const mask = repair && params.region ? usableOrNull(cropMask(repair.mask, params.region)) : (repair?.mask ?? null);
  // Damaged pixels filled (Telea) before any method; the mask also goes to diffusion methods.
  const rgb = mask ? f32ToU8(inpaintTelea(u8ToF32(rgb0), mask)) : rgb0;
  const alpha = fullAlpha && params.region ? cropU8(fullAlpha, params.region) : fullAlpha;
  const scale = params.scale;
  const W = rgb.width * scale;
  const H = rgb.height * scale;
  const info0: Record<string, unknown> = {};
  // One listing of the model folders (cards only, no sessions) for every choice this restore makes.
  const models = Catalogue.list(req.modelDirs);
  let method = models.resolveMethod(params.method, scale);
  if (params.method === 'auto' && method !== 'lanczos') {
    // an estimate that fails (odd JPEG tables in a file the decoder accepted) keeps resolveMethod's pick
    const choice = await autoChoice(full, req.input, scale, models, ctx.offload).catch((e: Error) => ({ model: method, reason: `no estimate (${e.message}): default pick`, estimate: null }));
    method = choice.model;
    info0.autoChoice = choice;
  }
  // `auto` with a face package installed: look for faces the face model would restore (small ones: larger faces
  // are better served by the background, bench/README-faces.md); if there are any, restore as `portrait`.
  let autoDetected: Awaited<ReturnType<typeof import('./faces/portrait')['detectPortraitFaces']>> | null = null;
  if (params.method === 'auto' && params.autoFaces !== false) {
    const pm = await import('./faces/portrait');
    const face = models.face();
    if (face) {
      check();
      ctx.onProgress?.({ fraction: 0, message: 'looking for faces' });
      const opts = { naturalBackground: method !== 'lanczos' };
      const found = ctx.offload ? await ctx.offload.detectPortraitFaces(rgb, opts) : await pm.detectPortraitFaces(rgb, opts);
      const n = found.filter((f) => f.restorable).length;
      info0.autoFaces = { found: found.length, restorable: n, picked: n > 0 ? 'portrait' : method };
      if (n > 0) {
        method = 'portrait';
        autoDetected = found;
      }
    }
  }
  if (method === 'portrait' && !autoDetected && !params.faces && ctx.offload) {
    // `portrait` finding the faces itself: found here, on the helper thread, before the inference section (the
    // faces restorePortrait would find: the same detector on the same pixels).
    check();
    ctx.onProgress?.({ fraction: 0, message: 'looking for faces' });
    autoDetected = await ctx.offload.detectPortraitFaces(rgb, {});
  }
  let out: ImageU8;
  let modelId: string | null = null;
  let modelVersion: string | null = null;
  let knob: number | null = null;
  let splitN: number | null = null;
  let seed: number | null = null;
  let calls = 0;
  const info: Record<string, unknown> = { requestedMethod: params.method, input: { width: rgb.width, height: rgb.height }, region: params.region ?? null, ...info0 };
  if (repair) info.repair = { source: repair.source, pixels: mask ? maskPixels(mask) : 0, coverage: repair.coverage, resized: repair.resized, jumps: mask ? (req.repair?.jumps ?? 2) : 0 };
  const repairRecord: RepairRecord | null =
    req.repair?.mask || req.repair?.detect ? { source: req.repair.mask ? 'file' : 'detected', mask: req.repair.mask ?? null, coverage: repair?.coverage ?? 0, pixels: mask ? maskPixels(mask) : 0 } : null;
  if (isClassicMethod(method)) {
    out = resampleU8(rgb, W, H, method);
    info.provider = 'cpu';
  } else if (method === 'portrait') {
    // Faces restored by the face model, the rest by the natural model (or Lanczos): src/engine/faces.
    const { restorePortrait } = await import('./faces/portrait');
    const faces = facesForRegion(params, params.region ?? null);
    const r = await inInference(ctx, 0, () => restorePortrait(rgb, {
      scale,
      fidelity: params.fidelity,
      seed: params.seed,
      sampler: params.sampler,
      modelDirs: req.modelDirs,
      catalogue: models,
      threads: req.threads,
      provider: req.provider,
      precision: req.precision,
      signal: ctx.signal,
      faces: faces.faces,
      excludeFaces: faces.excludeFaces,
      faceFidelity: faces.faceFidelity,
      detected: autoDetected ?? undefined,
      onProgress: (q) => ctx.onProgress?.({ fraction: Math.min(0.99, q.fraction), step: q.step, message: q.stage === 'face' ? `face ${(q.face ?? 0) + 1}/${q.faces}` : q.stage }),
    }));
    out = r.image;
    modelId = r.info.faceModel;
    knob = params.fidelity;
    seed = params.seed;
    calls = r.info.calls;
    info.provider = r.info.provider;
    if (r.info.providerChoice) info.providerChoice = r.info.providerChoice;
    if (r.info.precision) info.precision = r.info.precision;
    info.portrait = r.info;
  } else {
    const diff = await loadDiffusion();
    const { dir } = models.byId(method);
    const lrF = u8ToF32(rgb);
    const r = await inInference(ctx, 0, async () => {
      // Execution provider: self-tested once per (model, setting), CPU fallback with a reason (catalogue.ts).
      const { model, choice, precision } = await openModel(dir, { threads: req.threads, provider: req.provider, precision: req.precision });
      if (choice) info.providerChoice = choiceInfo(choice);
      // the mask as the denoiser's input (issue 17 item 2): what the repair did, recorded as it ran
      if (mask && info.repair && hasMaskInput(model.card)) Object.assign(info.repair, { jumps: req.repair?.jumps ?? defaultJumps(model.card), maskInput: true });
      // Which denoiser ran (fp32 or int8) and why (catalogue.ts resolvePrecision).
      info.precision = precision;
      check();
      return diff.restoreDiffusion(model, lrF, {
        scale,
        batch: choice?.batch,
        sampler: params.sampler ?? 'skipdiff',
        fidelity: params.fidelity,
        seed: params.seed,
        signal: ctx.signal,
        ...(mask ? { repair: { mask, jumps: req.repair?.jumps } } : {}),
        onProgress: (p) =>
          ctx.onProgress?.({
            fraction: Math.min(0.99, ((p.tile - 1) + p.step / Math.max(1, p.steps)) / Math.max(1, p.tiles)),
            tile: { i: p.tile, n: p.tiles },
            step: { k: p.step, K: p.steps },
          }),
      });
    });
    out = f32ToU8(r.image);
    modelId = r.info.modelId;
    modelVersion = r.info.modelVersion;
    knob = r.info.knob;
    splitN = r.info.splitN;
    seed = r.info.seed;
    calls = r.info.calls;
    Object.assign(info, r.info);
  }
  check();
  const outAlpha = alpha ? resampleU8(alpha, W, H, 'lanczos') : null;
  ctx.onProgress?.({ fraction: 0.99, message: 'encoding' });
  // one verdict: the diffusion pass's (same rule, image.ts isGrey) when one ran, else the input's
  const grey = typeof info.grey === 'boolean' ? info.grey : isGrey(rgb);
  info.grey = grey;
  await encodeImage(out, outAlpha, meta, req.output, { format: req.format, quality: req.quality, keepMetadata: req.keepMetadata, grey });
  const metrics: Record<string, number> = {};
  const m = ctx.offload ?? (await loadMetrics());
  if (m) {
    try {
      Object.assign(metrics, await m.resultMetrics(out, rgb));
    } catch {
      /* metrics are best-effort; the result stands without them */
    }
  }
  return {
    outputPath: req.output,
    width: W,
    height: H,
    method,
    modelId,
    modelVersion,
    scale,
    knob,
    splitN,
    seed,
    calls,
    durationMs: Math.round(performance.now() - t0),
    metrics,
    info,
    repair: repairRecord,
  };
}

function usableOrNull(m: Mask): Mask | null {
  return maskPixels(m) ? m : null;
}

/**
 * The damage mask of a restore: a mask file (fitted to the photo: same size as is, the same shape
 * resized by nearest neighbour, another shape an error; an empty mask repairs nothing; a mask of
 * every pixel is an error), or the detector's. Null when nothing is to be repaired.
 */
export async function repairMask(r: NonNullable<RestoreRequest['repair']>, img: ImageU8, input: string): Promise<{ mask: Mask; source: 'file' | 'detected'; coverage: number; resized: boolean } | null> {
  let m: Mask;
  let resized = false;
  let source: 'file' | 'detected';
  if (r.mask) {
    let dec: ImageU8;
    try {
      dec = (await decodeImage(r.mask)).rgb;
    } catch (e) {
      throw new InputError('CORRUPT', r.mask, `damage mask: ${(e as Error).message.replace(`${r.mask}: `, '')}`);
    }
    try {
      const fit = fitMask(maskFromImage(dec), img.width, img.height, 'damage mask');
      m = fit.mask;
      resized = fit.resized;
    } catch (e) {
      throw new InputError('UNSUPPORTED', r.mask, (e as Error).message);
    }
    source = 'file';
  } else if (r.detect) {
    m = detectDamage(u8ToF32(img));
    source = 'detected';
  } else return null;
  const coverage = maskPixels(m) / (m.width * m.height);
  if (coverage === 1) throw new InputError('UNSUPPORTED', r.mask ?? input, 'damage mask covers the whole photo');
  return coverage === 0 ? null : { mask: m, source, coverage, resized };
}

export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

export function outputNameFor(input: string, scale: number, method: string, format: EncodeFormat): string {
  const base = path.basename(input, path.extname(input));
  return `${base}_x${scale}_${method}${format === 'jpeg' ? '.jpg' : `.${format}`}`;
}
