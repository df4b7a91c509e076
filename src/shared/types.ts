/**
 * Domain types shared by main, preload, renderer and CLI. No Node, no DOM.
 * What the IPC contract validates is inferred from its zod schemas (contract.ts), not restated here.
 */
import type { z } from 'zod';
import type { FaceBoxSchema, FormatSchema, RegionSchema, RepairParam, RestoreParamsSchema, ScaleSchema, SettingsSchema } from './contract';

export type Scale = z.infer<typeof ScaleSchema>;
export type OutputFormat = z.infer<typeof FormatSchema>;
/** Job states: one list for the type and the contract's jobs.list filter. */
export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export type JobKind = 'restore' | 'preview';

/** Execution provider settings: one list for the contract, the engine (src/engine/providers.ts) and the CLI. */
export const PROVIDER_SETTINGS = ['auto', 'cpu', 'webgpu', 'dml', 'coreml', 'cuda'] as const;
export type ProviderSetting = (typeof PROVIDER_SETTINGS)[number];
/**
 * Denoiser precision settings (src/engine/catalogue.ts resolvePrecision): 'fp32' the float denoiser; 'int8' the
 * package's int8 denoiser (card files.denoiserInt8) on the cpu provider where it has one; 'auto' int8 on the cpu
 * provider when the package's int8 denoiser passed its quality gate per its card (metrics.int8), else fp32.
 */
export const PRECISION_SETTINGS = ['auto', 'fp32', 'int8'] as const;
export type PrecisionSetting = (typeof PRECISION_SETTINGS)[number];

/** The classic resamplers (no model): one list for the engine, main, the CLI and the renderer. */
export const CLASSIC_METHODS = ['bicubic', 'lanczos'] as const;
export type ClassicMethod = (typeof CLASSIC_METHODS)[number];
export function isClassicMethod(method: string): method is ClassicMethod {
  return (CLASSIC_METHODS as readonly string[]).includes(method);
}

export interface ExifSummary {
  make?: string;
  model?: string;
  takenAt?: string;
  orientation?: number;
  hasIcc?: boolean;
}

export interface Photo {
  id: number;
  path: string;
  name: string;
  hash: string;
  size: number;
  format: string;
  width: number;
  height: number;
  exif: ExifSummary | null;
  addedAt: string;
  /** Number of full (non-preview) results. */
  resultCount: number;
  lastResultAt: string | null;
  /** Remembered per-photo settings (knob, scale, method, the faces as the user left them), null until the user sets them. */
  prefs: PhotoPrefs | null;
  /** True when the original file is missing or unreadable at last check. */
  missing: boolean;
}

/** A region of the input, in input pixels (used for previews): contract.ts RegionSchema. */
export type Region = z.infer<typeof RegionSchema>;

/** A face box in the photo's pixels (after EXIF orientation): contract.ts FaceBoxSchema. */
export type FaceBox = z.infer<typeof FaceBoxSchema>;

/** Per-face choices of method `portrait` (faces, excludeFaces, faceFidelity of the restore params). */
export type FaceParams = Pick<RestoreParams, 'faces' | 'excludeFaces' | 'faceFidelity'>;

export interface PhotoPrefs extends FaceParams {
  fidelity?: number;
  scale?: Scale;
  method?: string;
  /** The damage mask painted for this photo (masks.save), used by its restores: `{ mask }` a file in the library. */
  repair?: RepairParam;
}

/** One face found by `faces.detect`, in the photo's pixels. */
export interface FoundFace {
  box: FaceBox;
  /** Detector confidence 0..1. */
  score: number;
  /** Image-left eye, image-right eye, nose tip, mouth corners: [x, y] in the photo's pixels. */
  landmarks?: [number, number][];
  /** How far the 5 landmarks are from a face template (template px; high = not face-like). */
  residual?: number;
  /** The face model's 128² frame measured on the photo, in pixels (the model sees it at 16 px). */
  framePx?: number;
  /** With a scale given: whether `portrait` would restore it at that scale, and why not. */
  restorable?: boolean;
  reason?: string;
}

export interface FaceDetectReport {
  faces: FoundFace[];
  /** Time the detection took (the original run when answered from the cache). */
  ms: number;
  cached: boolean;
  /** Which detector answered (the cache key besides the content hash). */
  detector: string;
}

/** One restore's parameters (scale, method, sampler, knob, seed, region, format, faces, repair): contract.ts RestoreParamsSchema. */
export type RestoreParams = z.infer<typeof RestoreParamsSchema>;

/** How a result's damage was repaired: where the mask came from and how much of the photo (or region) it marks. */
export interface RepairRecord {
  source: 'file' | 'detected';
  /** The mask file (source 'file'). */
  mask: string | null;
  /** Damaged fraction of the photo, 0..1 (0: an empty mask, or the detector found nothing). */
  coverage: number;
  /** Damaged input pixels repaired (those inside the region of a preview). */
  pixels: number;
}

export interface Result {
  id: number;
  photoId: number;
  kind: JobKind;
  method: string;
  modelId: string | null;
  modelVersion: string | null;
  scale: number;
  knob: number | null;
  splitN: number | null;
  seed: number | null;
  calls: number;
  durationMs: number;
  outputPath: string;
  width: number;
  height: number;
  metrics: Record<string, number>;
  /** Sampler, fine levels run, provider, region, tiles… everything else the engine reports. */
  info: Record<string, unknown>;
  /** Damage repair done (null: none asked). */
  repair: RepairRecord | null;
  createdAt: string;
}

/** What a restoration produces, before the library gives it an id, a photo and a date. */
export type ResultFields = Omit<Result, 'id' | 'photoId' | 'kind' | 'createdAt'>;

export interface JobProgress {
  /** 0..1 over the whole job. */
  fraction: number;
  image?: { i: number; n: number };
  tile?: { i: number; n: number };
  step?: { k: number; K: number };
  etaMs?: number;
  message?: string;
}

export interface Job {
  id: number;
  kind: JobKind;
  state: JobState;
  photoId: number;
  photoName: string;
  batchId: string | null;
  params: RestoreParams;
  progress: JobProgress;
  error: string | null;
  resultId: number | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** The app's settings: contract.ts SettingsSchema. */
export type Settings = z.infer<typeof SettingsSchema>;

export interface ModelInfo {
  id: string;
  ok: boolean;
  error?: string;
  task?: import('./card').ModelCard['task'];
  version?: string;
  scales?: number[];
  trainedOn?: string;
  /** Knob -> N points and call budget info for the UI. */
  knob?: [number, number][];
  coarseSteps?: number;
  fineSteps?: number;
  fixedStrideCalls?: number;
  fixedStrideCallsPerN?: number;
  hasPolicy?: boolean;
  /** Tiling of the canvas the denoiser runs on (the card's), for counting tiles like the engine does. */
  tile?: { size: number; overlap: number; multiple: number };
  /**
   * ms per denoiser call on a 128×128 tile under the current provider setting: measured by finished
   * jobs on this computer, else the card's reference measurement; null when neither exists.
   */
  msPerCall128?: number | null;
  msPerCall128Source?: SpeedSource | null;
  /** The same on the CPU (method portrait runs its models there). */
  msPerCall128Cpu?: number | null;
  msPerCall128CpuSource?: SpeedSource | null;
}

/** Where a speed comes from: jobs on this computer, or the model card's reference machine. */
export type SpeedSource = 'measured' | 'card';

export interface MethodInfo {
  id: string;
  label: string;
  kind: 'classic' | 'diffusion' | 'auto';
  scales: number[];
}

export interface ImportFailure {
  path: string;
  error: string;
}

export interface ImportReport {
  imported: Photo[];
  duplicates: { path: string; existingId: number }[];
  failed: ImportFailure[];
}
