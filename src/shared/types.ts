/** Domain types shared by main, preload, renderer and CLI. No Node, no DOM. */

export type Scale = 2 | 4 | 8;
export type OutputFormat = 'png' | 'jpeg' | 'webp';
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type JobKind = 'restore' | 'preview';

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
  /** Remembered per-photo settings (knob, scale), null until the user sets them. */
  prefs: { fidelity?: number; scale?: Scale; method?: string } | null;
  /** True when the original file is missing or unreadable at last check. */
  missing: boolean;
}

/** A region of the input, in input pixels (used for previews). */
export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface RestoreParams {
  scale: Scale;
  /** 'bicubic' | 'lanczos' | 'auto' | a model id from models.list */
  method: string;
  /** Diffusion sampler: 'skipdiff' | 'ddpm:<k>' | 'ddim:<k>' | 'csa' | 'fixed:<calls>' (ignored by classic methods). */
  sampler?: string;
  /** 0 = most faithful, 1 = most detailed. */
  fidelity: number;
  seed: number;
  /** Restore only this region of the input (a preview). */
  region?: Region;
  format?: OutputFormat;
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

export interface Settings {
  threads: number;
  provider: 'auto' | 'cpu' | 'webgpu' | 'dml' | 'coreml' | 'cuda';
  defaultFidelity: number;
  defaultScale: Scale;
  defaultMethod: string;
  defaultSampler: string;
  outputDir: string | null;
  outputFormat: OutputFormat;
  outputQuality: number;
  keepMetadata: boolean;
  theme: 'system' | 'light' | 'dark';
}

export interface ModelInfo {
  id: string;
  ok: boolean;
  error?: string;
  task?: 'face' | 'natural';
  version?: string;
  scales?: number[];
  trainedOn?: string;
  /** Knob -> N points and call budget info for the UI. */
  knob?: [number, number][];
  coarseSteps?: number;
  fineSteps?: number;
  fixedStrideCalls?: number;
  hasPolicy?: boolean;
  /** Measured ms per denoiser call on a 128x128 tile on this machine, when known. */
  msPerCall128?: number | null;
}

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
