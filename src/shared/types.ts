/** Domain types shared by main, preload, renderer and CLI. No Node, no DOM. */

export type Scale = 2 | 4 | 8;
export type OutputFormat = 'png' | 'jpeg' | 'webp';
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type JobKind = 'restore' | 'preview';

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

/** A region of the input, in input pixels (used for previews). */
export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A face box in the photo's pixels (after EXIF orientation): top-left x, y, width, height. */
export interface FaceBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Per-face choices of method `portrait` (indices refer to `faces`, or to the detected faces when absent). */
export interface FaceParams {
  /** The faces to restore, replacing detection (landmarks are found inside each box). */
  faces?: FaceBox[];
  /** Indices of faces left to the background. */
  excludeFaces?: number[];
  /** Knob per face index (keys are indices as strings over JSON); others use `fidelity`. */
  faceFidelity?: Record<string, number>;
}

export interface PhotoPrefs extends FaceParams {
  fidelity?: number;
  scale?: Scale;
  method?: string;
  /** The damage mask painted for this photo (masks.save), used by its restores: `{ mask }` a file in the library. */
  repair?: import('./contract').RepairParam;
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

export interface RestoreParams extends FaceParams {
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
  /**
   * method 'auto' only: look for faces first and restore as 'portrait' when the face model would restore any
   * (default true when a face package is installed; false skips the detection).
   */
  autoFaces?: boolean;
  /** Damage repair: 'off' (absent), 'detect', or `{ mask }` a mask image of the photo (white = damaged). */
  repair?: import('./contract').RepairParam;
}

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
  task?: import('./card').ModelCard['task'];
  version?: string;
  scales?: number[];
  trainedOn?: string;
  /** Knob -> N points and call budget info for the UI. */
  knob?: [number, number][];
  coarseSteps?: number;
  fineSteps?: number;
  fixedStrideCalls?: number;
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
