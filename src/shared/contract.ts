/**
 * The one IPC contract. Main validates every argument with these schemas; preload exposes exactly
 * these channels (typed from this file); the renderer and the browser test shim import the types.
 * Every call answers `IpcResult<T>`: `{ ok: true, value }` or `{ ok: false, error: { code, message } }`.
 */
import { z } from 'zod';
import type {
  FaceDetectReport,
  ImportReport,
  Job,
  MethodInfo,
  ModelInfo,
  Photo,
  Result,
  Settings,
} from './types';
import { JOB_STATES, PRECISION_SETTINGS, PROVIDER_SETTINGS } from './types';

export type ErrorCode =
  | 'BAD_ARGS'
  | 'NOT_FOUND'
  | 'FORBIDDEN_PATH'
  | 'IO'
  | 'UNSUPPORTED'
  | 'CONFLICT'
  | 'INTERNAL';

export interface IpcError {
  code: ErrorCode;
  message: string;
}
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

const Id = z.number().int().positive();
export const ScaleSchema = z.union([z.literal(2), z.literal(4), z.literal(8)]);
const Scale = ScaleSchema;
const Fidelity = z.number().min(0).max(1);
const Seed = z.number().int().min(0).max(2 ** 32 - 1);
const SamplerId = z.string().regex(/^(skipdiff|csa|ddpm:\d{1,4}|ddim:\d{1,4}|fixed:\d{1,4})$/);
const MethodId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/);
export const FormatSchema = z.enum(['png', 'jpeg', 'webp']);
const Format = FormatSchema;
const PathArg = z.string().min(1).max(4096);

/** A region of the input, in input pixels (used for previews). */
export const RegionSchema = z.object({
  x: z.number().int().min(0),
  y: z.number().int().min(0),
  w: z.number().int().min(1).max(4096),
  h: z.number().int().min(1).max(4096),
});

/** The most faces one photo's restore may name (boxes, exclusions, per-face knobs). */
export const MAX_FACES = 64;
/** Largest photo side the app takes (MAX_INPUT_PIXELS allows no side beyond this). */
const MAX_SIDE = 65_536;

/**
 * A face box in the photo's pixels (after EXIF orientation): top-left x, y, width, height; fractional values
 * allowed (detector boxes), no NaN or Infinity.
 */
export const FaceBoxSchema = z.strictObject({
  x: z.number().min(0).max(MAX_SIDE),
  y: z.number().min(0).max(MAX_SIDE),
  w: z.number().min(1).max(MAX_SIDE),
  h: z.number().min(1).max(MAX_SIDE),
});
const FaceIndex = z.number().int().min(0).max(MAX_FACES - 1);
const FaceIndexKey = z.string().regex(/^(0|[1-9]\d?)$/, 'a face index').refine((k) => Number(k) < MAX_FACES, `a face index below ${MAX_FACES}`);

/** faces / excludeFaces / faceFidelity: shared by restore params and per-photo prefs. */
const FaceList = z.array(FaceBoxSchema).max(MAX_FACES);
const ExcludeList = z.array(FaceIndex).max(MAX_FACES);
const FaceFidelityMap = z.record(FaceIndexKey, Fidelity).refine((r) => Object.keys(r).length <= MAX_FACES, `at most ${MAX_FACES} faces`);
/** Per-face choices of method `portrait` (indices refer to `faces`, or to the detected faces when absent). */
const faceFields = {
  /** The faces to restore, replacing detection (landmarks are found inside each box). */
  faces: FaceList.optional(),
  /** Indices of faces left to the background. */
  excludeFaces: ExcludeList.optional(),
  /** Knob per face index (keys are indices as strings over JSON); others use `fidelity`. */
  faceFidelity: FaceFidelityMap.optional(),
};

/** Indices must name faces of the list when one is given. */
function checkFaceIndices(v: { faces?: unknown[]; excludeFaces?: number[]; faceFidelity?: Record<string, number> }, ctx: z.RefinementCtx): void {
  if (!v.faces) return;
  const n = v.faces.length;
  for (const [i, k] of (v.excludeFaces ?? []).entries()) {
    if (k >= n) ctx.addIssue({ code: 'custom', path: ['excludeFaces', i], message: `face ${k} is not among the ${n} faces given` });
  }
  for (const k of Object.keys(v.faceFidelity ?? {})) {
    if (Number(k) >= n) ctx.addIssue({ code: 'custom', path: ['faceFidelity', k], message: `face ${k} is not among the ${n} faces given` });
  }
}

/**
 * Damage repair of a restore (issue 17): 'off' (default), 'detect' (the classical detector proposes the mask) or
 * `{ mask }`, an absolute path of a mask image of the photo (white = damaged; main checks it is a granted path).
 */
export const RepairSchema = z.union([z.literal('off'), z.literal('detect'), z.strictObject({ mask: PathArg.refine((p) => !p.includes('\0'), 'a path without NUL bytes') })]);
export type RepairParam = z.infer<typeof RepairSchema>;

/** What one restore does (the type `RestoreParams` of types.ts is inferred from this schema). */
export const RestoreParamsSchema = z
  .object({
    scale: Scale,
    /** 'bicubic' | 'lanczos' | 'auto' | a model id from models.list */
    method: MethodId,
    /** Diffusion sampler: 'skipdiff' | 'ddpm:<k>' | 'ddim:<k>' | 'csa' | 'fixed:<calls>' (ignored by classic methods). */
    sampler: SamplerId.optional(),
    /** 0 = most faithful, 1 = most detailed. */
    fidelity: Fidelity,
    seed: Seed,
    /** Restore only this region of the input (a preview). */
    region: RegionSchema.optional(),
    format: Format.optional(),
    /**
     * method 'auto' only: look for faces first and restore as 'portrait' when the face model would restore any
     * (default true when a face package is installed; false skips the detection).
     */
    autoFaces: z.boolean().optional(),
    /** Damage repair: 'off' (absent), 'detect', or `{ mask }` a mask image of the photo (white = damaged). */
    repair: RepairSchema.optional(),
    ...faceFields,
  })
  .superRefine(checkFaceIndices);

/** Per-photo prefs: the same fields; a face field set to null is forgotten (back to detection). */
export const PhotoPrefsSchema = z
  .object({
    fidelity: Fidelity.optional(),
    scale: Scale.optional(),
    method: MethodId.optional(),
    faces: FaceList.nullable().optional(),
    excludeFaces: ExcludeList.nullable().optional(),
    faceFidelity: FaceFidelityMap.nullable().optional(),
  })
  .superRefine((v, ctx) => checkFaceIndices({ faces: v.faces ?? undefined, excludeFaces: v.excludeFaces ?? undefined, faceFidelity: v.faceFidelity ?? undefined }, ctx));

/** The app's settings (the type `Settings` of types.ts is inferred from this schema). */
export const SettingsSchema = z.object({
  threads: z.number().int().min(1).max(256),
  /** Execution provider setting (types.ts PROVIDER_SETTINGS; src/engine/providers.ts). */
  provider: z.enum(PROVIDER_SETTINGS),
  /** Denoiser precision (types.ts PRECISION_SETTINGS; src/engine/catalogue.ts resolvePrecision). */
  precision: z.enum(PRECISION_SETTINGS),
  defaultFidelity: Fidelity,
  defaultScale: Scale,
  defaultMethod: MethodId,
  defaultSampler: SamplerId,
  outputDir: z.string().max(4096).nullable(),
  outputFormat: Format,
  outputQuality: z.number().int().min(1).max(100),
  keepMetadata: z.boolean(),
  theme: z.enum(['system', 'light', 'dark']),
});

export const LibrarySort = z.enum(['added', 'name', 'processed']);
export const LibraryFilter = z.enum(['all', 'processed', 'unprocessed', 'missing']);

/** Argument schemas, one per invoke channel. */
export const channels = {
  'library.list': z.object({
    sort: LibrarySort.default('added'),
    desc: z.boolean().default(true),
    search: z.string().max(256).default(''),
    filter: LibraryFilter.default('all'),
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(20000).default(500),
  }),
  'library.get': z.object({ id: Id }),
  'library.import': z.object({ paths: z.array(PathArg).min(1).max(10000) }),
  'library.remove': z.object({ ids: z.array(Id).min(1).max(20000) }),
  'library.reveal': z.object({ id: Id }),
  'library.setPrefs': z.object({ id: Id, prefs: PhotoPrefsSchema }),
  'results.list': z.object({ photoId: Id }),
  'results.get': z.object({ id: Id }),
  'results.delete': z.object({ id: Id }),
  'results.export': z.object({
    id: Id,
    path: PathArg,
    format: Format,
    quality: z.number().int().min(1).max(100).default(92),
    keepMetadata: z.boolean().default(true),
    overwrite: z.boolean().optional(),
  }),
  'jobs.enqueue': z.object({ photoIds: z.array(Id).min(1).max(20000), params: RestoreParamsSchema }),
  'jobs.cancel': z.object({ id: Id }),
  'jobs.cancelBatch': z.object({ batchId: z.string().min(1).max(64) }),
  'jobs.retry': z.object({ id: Id }),
  'jobs.list': z.object({
    states: z.array(z.enum(JOB_STATES)).optional(),
    limit: z.number().int().min(1).max(10000).default(1000),
  }),
  'jobs.clearFinished': z.object({}),
  'settings.get': z.object({}),
  'settings.set': z.object({ patch: SettingsSchema.partial() }),
  'models.list': z.object({}),
  'methods.list': z.object({}),
  /** Faces in a photo (engine host, cached per content hash); with `scale`, whether portrait would restore each. */
  'faces.detect': z.object({ photoId: Id, scale: Scale.optional() }),
  /** The photo's damage mask (painted in the photo view), a PNG as base64; null when it has none. */
  'masks.get': z.object({ photoId: Id }),
  /** Stores a damage mask for the photo (PNG as base64, white = damaged, the photo's size or shape); used by its restores. */
  'masks.save': z.object({ photoId: Id, png: z.string().min(1).max(90_000_000) }),
  'masks.clear': z.object({ photoId: Id }),
  'dialog.openPhotos': z.object({ folders: z.boolean().default(false) }),
  'dialog.saveResult': z.object({ id: Id, format: Format }),
} as const;

export type Channel = keyof typeof channels;
export type ChannelArgs<C extends Channel> = z.input<(typeof channels)[C]>;
export type ParsedArgs<C extends Channel> = z.output<(typeof channels)[C]>;
/** A library.list query with its defaults filled in (what main's library.list runs). */
export type LibraryListQuery = ParsedArgs<'library.list'>;

/** What each channel answers. */
export interface ChannelReturns {
  'library.list': { items: Photo[]; total: number };
  'library.get': Photo;
  'library.import': ImportReport;
  'library.remove': { removed: number };
  'library.reveal': { path: string };
  'library.setPrefs': Photo;
  'results.list': Result[];
  'results.get': Result;
  'results.delete': { deleted: number };
  'results.export': { path: string; bytes: number };
  'jobs.enqueue': { batchId: string; jobs: Job[] };
  'jobs.cancel': Job;
  'jobs.cancelBatch': { cancelled: number };
  'jobs.retry': Job;
  'jobs.list': Job[];
  'jobs.clearFinished': { cleared: number };
  'settings.get': Settings;
  'settings.set': Settings;
  'models.list': ModelInfo[];
  'methods.list': MethodInfo[];
  'faces.detect': FaceDetectReport;
  'masks.get': { png: string | null; coverage: number };
  'masks.save': Photo;
  'masks.clear': Photo;
  /** Paths the user picked (empty when cancelled); they are granted for import. */
  'dialog.openPhotos': { paths: string[] };
  /** Path the user picked (null when cancelled); it is granted for export. */
  'dialog.saveResult': { path: string | null };
}

/** Events pushed from main to renderer. */
export interface EventPayloads {
  'job.progress': Job;
  'job.finished': { job: Job; result: Result | null };
  'library.changed': { reason: 'import' | 'remove' | 'result' | 'prefs' };
  'jobs.batchFinished': { batchId: string; done: number; failed: number; cancelled: number };
}
export type EventName = keyof EventPayloads;
export const eventNames: EventName[] = ['job.progress', 'job.finished', 'library.changed', 'jobs.batchFinished'];

/** The prefix every invoke channel is registered under in ipcMain. */
export const IPC_PREFIX = 'daguerre:';

/**
 * Internal preload → main message (not a renderer channel): the absolute paths of files the user
 * dropped or pasted, resolved by the preload with webUtils; main grants them for import.
 */
export const GRANT_DROPPED = 'grant-dropped';

/** URLs of images served by the app's custom protocol (or the test server in the browser harness). */
export type MediaKind = 'original' | 'thumb' | 'result';
export function mediaPath(kind: MediaKind, id: number, version = 0): string {
  return `${kind}/${id}${version ? `?v=${version}` : ''}`;
}

/** The API the preload exposes as `window.daguerre`. */
export interface DaguerreApi {
  invoke<C extends Channel>(channel: C, args: ChannelArgs<C>): Promise<IpcResult<ChannelReturns[C]>>;
  on<E extends EventName>(event: E, cb: (payload: EventPayloads[E]) => void): () => void;
  /** Absolute file paths of dropped or pasted File objects (Electron's webUtils). */
  pathsForFiles(files: readonly object[]): string[];
  /** Base URL for mediaPath(): 'daguerre://media/' in the app. */
  mediaBase: string;
  platform: string;
}

export function isChannel(x: unknown): x is Channel {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(channels, x);
}
