/**
 * Method `portrait`: a whole photograph, faces restored by the face model, the rest enlarged by the
 * natural model (or Lanczos), blended back.
 *
 *   1. background  the whole photo ×scale: the natural package for the scale (task 'natural') when one
 *                  exists, else Lanczos (centre-aligned Lanczos-3, src/engine/resample.ts);
 *   2. faces       detected on the input (detect.ts) or given by the user (`faces`), minus `excludeFaces`;
 *   3. per face    5 landmarks → output coordinates → similarity (Umeyama) onto the 128² template
 *                  (template.ts, measured on faces/train) → the aligned 128² crop at output
 *                  geometry, sampled from the input (bilinear) → antialiased bicubic ÷8 → 16² uint8
 *                  (the face model's training degradation) → face model ×8 at the user's knob →
 *                  low-frequency colour matched to the background in the same template frame →
 *                  warped back (bilinear) and blended with a feathered elliptical mask;
 *   4. large faces whose template frame spans more than `maxFaceFramePx` input pixels (default 40
 *                  over Lanczos, 24 over the natural model; measured: see MAX_FACE_FRAME_PX*) are left
 *                  to the background; so are faces whose
 *                  landmarks do not fit the template (residual gate) and faces under 8 px.
 *
 * Pixels outside every face mask are byte-identical to the background result.
 */
import type { ImageF32, ImageU8 } from '../image';
import { f32ToU8, isGrey, u8ToF32 } from '../image';
import { CancelledError } from '../errors';
import { Catalogue, choiceInfo, openModel, type Precision, type PrecisionChoice } from '../catalogue';
import type { PrecisionSetting } from '../../shared/types';
import type { ProviderChoice } from '../providers';
import { blurPlane, toGreyImage } from '../diffusion/color';
import { resampleU8 } from '../resample';
import { bicubicResize, restoreDiffusion, type ModelPackage } from '../diffusion/index';
import { FACE_TEMPLATE, applySim, invertSim, samplePlane, sampleBilinear, simScale, templateFootprint, templateMask, umeyama, type Similarity } from './align';
import { detectFaces, fivePoints, landmarksForBoxesScored, type Box, type DetectOptions, type Point } from './detect';
import { defaultLimits, skipReason } from './limits';

export type { Box, Point } from './detect';

export interface PortraitProgress {
  stage: 'background' | 'detect' | 'face' | 'blend';
  /** 0-based face being restored (stage 'face'). */
  face?: number;
  faces?: number;
  /** Overall fraction done, 0..1 (monotone). */
  fraction: number;
  /** Denoiser step within the current model run. */
  step?: { k: number; K: number };
}

export interface PortraitOptions {
  scale: number;
  /** Knob in [0, 1] (0 = faithful, 1 = detailed), for both models. */
  fidelity: number;
  seed: number;
  sampler?: string;
  /** Folders searched for model packages (natural background, face model). */
  modelDirs: string[];
  /** Their listing, when the caller already has one (runRestore): used instead of listing `modelDirs` again. */
  catalogue?: Catalogue;
  threads?: number;
  /** Execution provider setting for both models (providers.ts); absent: CPU without a self-test. */
  provider?: string;
  /** Denoiser precision setting for both models (catalogue.ts resolvePrecision); absent: fp32. */
  precision?: PrecisionSetting;
  signal?: AbortSignal;
  onProgress?: (p: PortraitProgress) => void;
  /** User-provided face boxes (input pixels): replace detection; landmarks are found inside them. */
  faces?: Box[];
  /** Indices (into the detected, or the given, face list) to leave to the background. */
  excludeFaces?: number[];
  /** Per-face knob overrides, by face index (others use `fidelity`). */
  faceFidelity?: Record<number, number>;
  /** Face model id (default: the first 'face-blind' package in modelDirs, else the first 'face' one; Catalogue.face). */
  faceModel?: string;
  /** Background model id (default: the first 'natural' package serving `scale`; 'lanczos' forces Lanczos). */
  backgroundModel?: string;
  /** A background already made at this scale (W·scale × H·scale RGB), e.g. an earlier natural result: reused as is. */
  backgroundImage?: { image: ImageU8; id: string };
  /** Faces already detected on this input (detectPortraitFaces), used instead of detecting again. */
  detected?: FoundFace[];
  /** A loaded face package to use instead of looking one up (tests, bench). */
  faceModelPackage?: ModelPackage;
  /** Faces whose 128² template frame spans more input pixels than this are left to the background. */
  maxFaceFramePx?: number;
  /**
   * 'model' (default): every face goes through the model's own degradation (frame → 16 px, ×8).
   * 'adaptive': faces whose frame spans ≥ 32 (≥ 64) input pixels are conditioned on a 32 (64) px
   * frame at ×4 (×2) instead, keeping more of the input (the model was trained on ×8 only:
   * off-distribution, chosen by measurement only; see bench/faces-large.ts).
   */
  faceScale?: 'model' | 'adaptive';
  /** Faces whose template frame spans fewer input pixels than this (default 8) are left to the background. */
  minFaceFramePx?: number;
  /**
   * How much of each restored face is taken from the background result: its low frequencies, up to a
   * Gaussian of this σ in INPUT pixels (so the split follows what the input resolves: a 35 px face keeps
   * the input's own structure, a 12 px face takes almost everything from the face model). Default
   * MATCH_SIGMA_INPUT_PX; `null` = the earlier fixed σ of size/16 template px (8 px of a 128² frame).
   */
  matchSigmaInputPx?: number | null;
  /** Faces whose 5 landmarks fit the template worse than this (mean, template px) are not restored (default 9). */
  maxLandmarkResidual?: number;
  detect?: DetectOptions;
}

export interface PortraitFaceInfo {
  box: Box;
  landmarks: Point[];
  score: number;
  calls: number;
  /** Its denoiser calls in 128²-tile units and the face model's sampling time (for the app's speed estimate). */
  calls128?: number;
  msSampling?: number;
  restored: boolean;
  reason?: string;
  /** The template frame's size in input pixels (the face model sees it at 16 px). */
  framePx: number;
  /** Mean 5-point distance to the template after alignment (template px): how face-like the landmarks are. */
  residual: number;
  /** The face model's scale used for this face (8 = its own; 4 or 2 with faceScale 'adaptive'). */
  faceScale?: number;
  /** The knob this face was restored at. */
  fidelity?: number;
  ms: number;
}

export interface PortraitInfo {
  faces: PortraitFaceInfo[];
  /** 'lanczos' or the natural package's id (e.g. 'natural-x4'). */
  background: string;
  faceModel: string | null;
  /** Denoiser calls, background + faces. */
  calls: number;
  backgroundCalls: number;
  /** The background's denoiser calls in 128²-tile units and the natural model's sampling time (0 for Lanczos). */
  backgroundCalls128: number;
  msBackgroundSampling: number;
  msBackground: number;
  msDetect: number;
  msFaces: number;
  grey: boolean;
  /** The device the models ran on ('cpu' unless a provider setting chose another), and that decision (the last model opened). */
  provider: string;
  providerChoice?: ReturnType<typeof choiceInfo>;
  /** The device of each pass: the natural background's (null for Lanczos or a given background) and the face model's (null when none ran). */
  backgroundProvider: string | null;
  faceProvider: string | null;
  /** The precision decision of the last model opened, and the denoiser each pass ran (null: no such pass). */
  precision?: PrecisionChoice;
  backgroundPrecision: Precision | null;
  facePrecision: Precision | null;
}


const abortError = () => new CancelledError('portrait restore cancelled');

/** Lanczos-3, centre-aligned (src/engine/resample.ts; sharp's enlargement sits half an output pixel off). */
export async function lanczosU8(img: ImageU8, w: number, h: number): Promise<ImageU8> {
  return resampleU8(img, w, h, 'lanczos');
}

/** Output-pixel coordinates of an input-pixel point at `scale` (pixel centres at integers). */
export const toOutput = (p: Point, s: number): Point => [s * (p[0] + 0.5) - 0.5, s * (p[1] + 0.5) - 0.5];

/** The similarity from output coordinates onto the template, from input-space landmarks. */
export function faceTransform(landmarksInput: Point[], scale: number): Similarity {
  return umeyama(
    landmarksInput.map((p) => toOutput(p, scale)),
    FACE_TEMPLATE.points,
  );
}

/**
 * The aligned 128² crop at output geometry, sampled from the input (bilinear; the frame is always
 * at least as fine as the input for the faces we restore, so no antialiasing is needed here).
 */
export function alignedCrop(lr: ImageF32, M: Similarity, scale: number, size = FACE_TEMPLATE.size): ImageF32 {
  const inv = invertSim(M);
  const out = new Float32Array(size * size * 3);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const ox = inv.a * u - inv.b * v + inv.tx;
      const oy = inv.b * u + inv.a * v + inv.ty;
      sampleBilinear(lr, (ox + 0.5) / scale - 0.5, (oy + 0.5) / scale - 0.5, out, (v * size + u) * 3);
    }
  }
  return { width: size, height: size, data: out };
}

/** A similarity followed by a uniform scale k of the template frame (128² template → a k·128² frame). */
export function scaleSim(M: Similarity, k: number): Similarity {
  return { a: M.a * k, b: M.b * k, tx: M.tx * k, ty: M.ty * k };
}

/**
 * The face-blind model's input: the aligned size² crop of the input face, whatever its size. Faces whose frame
 * spans more input pixels than `size` are sampled on a finer grid and reduced with antialiased bicubic (no
 * aliasing); smaller ones are bilinear, as in alignedCrop. Rounded to 8 bits (the model was trained on uint8 crops).
 */
export function blindCrop(lr: ImageF32, M: Similarity, scale: number, size: number, framePx: number): ImageF32 {
  const m = Math.max(1, Math.ceil(framePx / size));
  const fine = alignedCrop(lr, scaleSim(M, m), scale, size * m);
  const crop = m > 1 ? bicubicResize(fine, size, size, { antialias: true }) : fine;
  const d = crop.data;
  for (let i = 0; i < d.length; i++) d[i] = Math.min(255, Math.max(0, Math.round(d[i] * 255))) / 255;
  return crop;
}

/** The face model's input: antialiased bicubic ÷8, rounded to uint8 (as in training). */
export function degradeToModelInput(crop: ImageF32, factor: number): ImageF32 {
  const w = Math.round(crop.width / factor);
  const h = Math.round(crop.height / factor);
  const lr = bicubicResize(crop, w, h, { antialias: true });
  const d = lr.data;
  for (let i = 0; i < d.length; i++) d[i] = Math.min(255, Math.max(0, Math.round(d[i] * 255))) / 255;
  return lr;
}

function blurImage(img: ImageF32, sigma: number): ImageF32 {
  const { width: w, height: h, data } = img;
  const n = w * h;
  const out = new Float32Array(data.length);
  const p = new Float32Array(n);
  const tmp = new Float32Array(n);
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i < n; i++) p[i] = data[i * 3 + k];
    blurPlane(p, w, h, sigma, tmp);
    for (let i = 0; i < n; i++) out[i * 3 + k] = p[i];
  }
  return { width: w, height: h, data: out };
}

/** Background (output resolution, u8) warped into the template frame, as floats. */
function backgroundInTemplate(bg: ImageU8, M: Similarity, size: number): ImageF32 {
  const inv = invertSim(M);
  const out = new Float32Array(size * size * 3);
  const W = bg.width;
  const H = bg.height;
  const c = bg.channels;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const x = Math.max(0, Math.min(W - 1, inv.a * u - inv.b * v + inv.tx));
      const y = Math.max(0, Math.min(H - 1, inv.b * u + inv.a * v + inv.ty));
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const x1 = Math.min(W - 1, x0 + 1);
      const y1 = Math.min(H - 1, y0 + 1);
      const tx = x - x0;
      const ty = y - y0;
      for (let k = 0; k < 3; k++) {
        const kk = c >= 3 ? k : 0;
        const a = bg.data[(y0 * W + x0) * c + kk];
        const b = bg.data[(y0 * W + x1) * c + kk];
        const cc = bg.data[(y1 * W + x0) * c + kk];
        const d = bg.data[(y1 * W + x1) * c + kk];
        out[(v * size + u) * 3 + k] = ((a * (1 - tx) + b * tx) * (1 - ty) + (cc * (1 - tx) + d * tx) * ty) / 255;
      }
    }
  }
  return { width: size, height: size, data: out };
}

/**
 * Default σ (input pixels) of the low-frequency match, chosen by measurement (bench/faces-match.ts on an old
 * photo, bench/faces-large.ts on faces/val; bench/README-faces.md): 0.35 keeps a 24–48 px face 0.5–4 dB closer
 * to the truth than the face model alone and costs 0.1 dB on 16 px faces.
 */
export const MATCH_SIGMA_INPUT_PX = 0.35;

/**
 * Low-frequency colour match in the template frame: face + (blur(bg) − blur(face)), σ in template
 * pixels. Keeps the face model's detail, takes tone and colour from the background result.
 */
export function matchLowFrequency(face: ImageF32, bgT: ImageF32, sigma: number, grey: boolean): ImageF32 {
  const bf = blurImage(face, sigma);
  const bb = blurImage(bgT, sigma);
  const out = new Float32Array(face.data.length);
  for (let i = 0; i < out.length; i++) out[i] = face.data[i] + bb.data[i] - bf.data[i];
  if (grey) {
    for (let i = 0; i < out.length; i += 3) {
      const y = 0.299 * out[i] + 0.587 * out[i + 1] + 0.114 * out[i + 2];
      out[i] = out[i + 1] = out[i + 2] = y;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i] < 0 ? 0 : out[i] > 1 ? 1 : out[i];
  return { width: face.width, height: face.height, data: out };
}

/**
 * Blends a template-frame face into `out` (output resolution, u8 RGB, modified in place) through
 * the mask; pixels where the mask is 0 are not written. Returns the number of pixels written.
 */
export function blendFace(out: ImageU8, face: ImageF32, mask: Float32Array, M: Similarity): number {
  const size = face.width;
  const k = simScale(M); // template px per output px
  // Shrinking the face into fewer output pixels: pre-filter against aliasing.
  const src = k > 1.5 ? blurImage(face, 0.4 * k) : face;
  const fp = templateFootprint(M, size, out.width, out.height);
  const px = new Float32Array(3);
  let n = 0;
  const c = out.channels;
  for (let y = fp.y0; y < fp.y1; y++) {
    for (let x = fp.x0; x < fp.x1; x++) {
      const [u, v] = applySim(M, [x, y]);
      const w = samplePlane(mask, size, size, u, v);
      if (!(w > 0)) continue;
      sampleBilinear(src, u, v, px);
      const i = (y * out.width + x) * c;
      for (let ch = 0; ch < 3; ch++) {
        const bgv = out.data[i + ch];
        const v2 = Math.round(bgv * (1 - w) + px[ch] * 255 * w);
        out.data[i + ch] = v2 < 0 ? 0 : v2 > 255 ? 255 : v2;
      }
      n++;
    }
  }
  return n;
}

export { MAX_FACE_FRAME_PX, MAX_FACE_FRAME_PX_NATURAL, skipReason } from './limits';

export interface DetectedFace {
  box: Box;
  landmarks: Point[];
  score: number;
  residual: number;
  framePx: number;
  /** Whether `portrait` would restore it with the default thresholds (user exclusions aside). */
  restorable: boolean;
  reason?: string;
}

/** A face as portrait sees it: where, how sure, its 5 landmarks and how well they fit the template. */
type FoundFace = { box: Box; score: number; landmarks: Point[]; residual: number };

/** The user's boxes (landmarks found inside them) or, without boxes, the detector's faces. */
async function locateFaces(lrRgb: ImageU8, opts: Pick<PortraitOptions, 'faces' | 'detect'>): Promise<FoundFace[]> {
  if (opts.faces) {
    const lms = await landmarksForBoxesScored(lrRgb, opts.faces);
    return opts.faces.map((b, i) => ({ box: { ...b }, score: 1, landmarks: fivePoints(lms[i].points), residual: lms[i].residual }));
  }
  return (await detectFaces(lrRgb, opts.detect)).map((f) => ({ box: f.box, score: f.score, landmarks: f.landmarks, residual: f.residual }));
}

/** The thresholds `skipReason` applies: the options where given, else the measured defaults (limits.ts). */
function faceLimits(opts: Pick<PortraitOptions, 'maxFaceFramePx' | 'minFaceFramePx' | 'maxLandmarkResidual'>, naturalBackground: boolean) {
  const d = defaultLimits(naturalBackground);
  return { maxResidual: opts.maxLandmarkResidual ?? d.maxResidual, minFrame: opts.minFaceFramePx ?? d.minFrame, maxFrame: opts.maxFaceFramePx ?? d.maxFrame };
}

/**
 * What the app's `faces.detect` channel returns: the faces `portrait` would see, in the same order
 * (so `excludeFaces` indices refer to this list), each with whether it would be restored and why not.
 */
export async function detectPortraitFaces(
  lrRgb: ImageU8,
  opts: Pick<PortraitOptions, 'faces' | 'detect' | 'maxFaceFramePx' | 'minFaceFramePx' | 'maxLandmarkResidual'> & { naturalBackground?: boolean } = {},
): Promise<DetectedFace[]> {
  const found = await locateFaces(lrRgb, opts);
  const t = faceLimits(opts, !!opts.naturalBackground);
  return found.map((f) => {
    const framePx = FACE_TEMPLATE.size / simScale(faceTransform(f.landmarks, 1));
    const reason = skipReason(f.residual, framePx, t);
    return { ...f, framePx: Math.round(framePx * 10) / 10, restorable: !reason, ...(reason ? { reason } : {}) };
  });
}

/** Picks the packages (Catalogue.portrait): background (natural for the scale) and face model ('face-blind' preferred, then 'face'). */
export async function portraitModels(opts: Pick<PortraitOptions, 'modelDirs' | 'catalogue' | 'scale' | 'faceModel' | 'backgroundModel'>) {
  return (opts.catalogue ?? Catalogue.list(opts.modelDirs)).portrait(opts);
}

export async function restorePortrait(lrRgb: ImageU8, opts: PortraitOptions): Promise<{ image: ImageU8; info: PortraitInfo }> {
  const check = () => {
    if (opts.signal?.aborted) throw abortError();
  };
  const scale = opts.scale;
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive integer: ${scale}`);
  const W = lrRgb.width * scale;
  const H = lrRgb.height * scale;
  const sampler = opts.sampler ?? 'skipdiff';
  const { natural, face: faceEntry } = await portraitModels(opts);
  const grey = isGrey(lrRgb);
  const lrF = u8ToF32(lrRgb);
  const userFaces = opts.faces;
  const nFacesGuess = Math.max(1, userFaces?.length ?? 3);
  // Progress budget: background share ~ its relative cost.
  const bgShare = natural ? 0.6 : 0.05;
  const detShare = userFaces ? 0.02 : 0.1;
  let lastFraction = 0;
  const report = (p: Omit<PortraitProgress, 'fraction'> & { fraction: number }) => {
    lastFraction = Math.max(lastFraction, Math.min(0.999, p.fraction));
    opts.onProgress?.({ ...p, fraction: lastFraction });
  };

  // 1. Background.
  // Both models on the device the user chose (sessions.ts); the result records the last decision made.
  const device: { provider: string; choice: ProviderChoice | null; precision: PrecisionChoice | null } = { provider: 'cpu', choice: null, precision: null };
  const open = async (dir: string) => {
    const o = await openModel(dir, { threads: opts.threads, provider: opts.provider, precision: opts.precision });
    device.provider = o.model.providers[0] ?? 'cpu';
    device.choice = o.choice ?? device.choice;
    device.precision = o.precision;
    return o;
  };
  let backgroundProvider: string | null = null;
  let backgroundPrecision: Precision | null = null;
  const t0 = performance.now();
  report({ stage: 'background', fraction: 0 });
  let bg: ImageU8;
  let backgroundCalls = 0;
  let backgroundCalls128 = 0;
  let msBackgroundSampling = 0;
  let background = 'lanczos';
  if (opts.backgroundImage) {
    const b = opts.backgroundImage.image;
    if (b.width !== W || b.height !== H || b.channels !== 3) throw new RangeError(`backgroundImage must be ${W}x${H} RGB (got ${b.width}x${b.height}x${b.channels})`);
    bg = b;
    background = opts.backgroundImage.id;
  } else if (natural) {
    const { model, choice } = await open(natural.dir);
    backgroundProvider = model.providers[0] ?? 'cpu';
    backgroundPrecision = model.precision;
    check();
    const r = await restoreDiffusion(model, lrF, {
      scale,
      batch: choice?.batch,
      sampler,
      fidelity: opts.fidelity,
      seed: opts.seed,
      signal: opts.signal,
      onProgress: (p) => report({ stage: 'background', fraction: (bgShare * (p.tile - 1 + p.step / Math.max(1, p.steps))) / Math.max(1, p.tiles), step: { k: p.step, K: p.steps } }),
    });
    bg = f32ToU8(r.image);
    backgroundCalls = r.info.calls;
    backgroundCalls128 = r.info.calls128;
    msBackgroundSampling = r.info.msSampling;
    background = natural.id;
  } else {
    const rgb3 = lrRgb.channels === 3 ? lrRgb : f32ToU8(lrF);
    bg = await lanczosU8(rgb3, W, H);
  }
  const msBackground = performance.now() - t0;
  check();

  // 2. Faces.
  const t1 = performance.now();
  report({ stage: 'detect', fraction: bgShare });
  const found: FoundFace[] =
    opts.detected && !userFaces
      ? opts.detected.map((f) => ({ box: { ...f.box }, score: f.score, landmarks: f.landmarks, residual: f.residual }))
      : await locateFaces(lrRgb, opts);
  const msDetect = performance.now() - t1;
  check();

  // 3. Each face.
  const t2 = performance.now();
  const exclude = new Set(opts.excludeFaces ?? []);
  const faceModel = opts.faceModelPackage ?? (faceEntry ? (await open(faceEntry.dir)).model : null);
  // face-blind: the size limits go (unless given); the template frame is the card's size.
  const blind = faceModel?.card.task === 'face-blind';
  const limits = blind ? { ...faceLimits(opts, !!natural), maxFrame: opts.maxFaceFramePx ?? Infinity } : faceLimits(opts, !!natural);
  const factor = faceModel ? faceModel.card.primaryScale : 8;
  const size = faceModel?.card.framing?.size ?? FACE_TEMPLATE.size;
  const mask = templateMask(size);
  const out: ImageU8 = { width: bg.width, height: bg.height, channels: 3, data: new Uint8Array(bg.data) };
  const infos: PortraitFaceInfo[] = [];
  const nF = found.length || nFacesGuess;
  const faceShare = 1 - bgShare - detShare;
  let calls = backgroundCalls;
  for (let i = 0; i < found.length; i++) {
    check();
    const f = found[i];
    const tf = performance.now();
    const M = blind ? scaleSim(faceTransform(f.landmarks, scale), size / FACE_TEMPLATE.size) : faceTransform(f.landmarks, scale);
    const framePx = size / (simScale(M) * scale);
    const base = { box: f.box, landmarks: f.landmarks, score: f.score, framePx: Math.round(framePx * 10) / 10, residual: Math.round(f.residual * 100) / 100 };
    const fr0 = bgShare + detShare + (faceShare * i) / nF;
    report({ stage: 'face', face: i, faces: found.length, fraction: fr0 });
    const why = exclude.has(i) ? 'excluded by the user' : !faceModel ? 'no face model package found' : skipReason(f.residual, framePx, limits);
    if (why) {
      infos.push({ ...base, calls: 0, restored: false, reason: why, ms: 0 });
      continue;
    }
    if (!faceModel) continue;
    let crop = blind ? blindCrop(lrF, M, scale, size, framePx) : alignedCrop(lrF, M, scale, size);
    if (grey) crop = toGreyImage(crop);
    // The face model's scale for this face: its own (×8 from 16 px), or lower for larger faces.
    let fs = blind ? 1 : factor;
    if (opts.faceScale === 'adaptive' && !blind) while (fs > 2 && framePx >= (2 * size) / fs) fs /= 2;
    const lrIn = blind ? crop : degradeToModelInput(crop, fs);
    const pkg = fs === factor || faceModel.card.scales.includes(fs) ? faceModel : { ...faceModel, card: { ...faceModel.card, scales: [...faceModel.card.scales, fs] } };
    const r = await restoreDiffusion(pkg, lrIn, {
      scale: fs,
      sampler,
      fidelity: opts.faceFidelity?.[i] ?? opts.fidelity,
      seed: (opts.seed + 7919 * (i + 1)) % Number.MAX_SAFE_INTEGER,
      signal: opts.signal,
      onProgress: (p) => report({ stage: 'face', face: i, faces: found.length, fraction: fr0 + (faceShare / nF) * ((p.tile - 1 + p.step / Math.max(1, p.steps)) / Math.max(1, p.tiles)), step: { k: p.step, K: p.steps } }),
    });
    calls += r.info.calls;
    const bgT = backgroundInTemplate(bg, M, size);
    const sigmaIn = opts.matchSigmaInputPx === undefined ? MATCH_SIGMA_INPUT_PX : opts.matchSigmaInputPx;
    const matched = matchLowFrequency(r.image, bgT, sigmaIn == null ? size / 16 : sigmaIn * (size / framePx), grey);
    blendFace(out, matched, mask, M);
    infos.push({ ...base, calls: r.info.calls, calls128: r.info.calls128, msSampling: Math.round(r.info.msSampling * 10) / 10, restored: true, faceScale: fs, fidelity: opts.faceFidelity?.[i] ?? opts.fidelity, ms: Math.round(performance.now() - tf) });
  }
  report({ stage: 'blend', fraction: 0.999 });
  return {
    image: out,
    info: {
      faces: infos,
      background,
      faceModel: faceModel?.id ?? null,
      calls,
      backgroundCalls,
      backgroundCalls128,
      msBackgroundSampling: Math.round(msBackgroundSampling * 10) / 10,
      msBackground: Math.round(msBackground),
      msDetect: Math.round(msDetect),
      msFaces: Math.round(performance.now() - t2),
      grey,
      provider: device.provider,
      ...(device.choice ? { providerChoice: choiceInfo(device.choice) } : {}),
      backgroundProvider,
      faceProvider: faceModel && infos.some((f) => f.restored) ? (faceModel.providers[0] ?? 'cpu') : null,
      ...(device.precision ? { precision: device.precision } : {}),
      backgroundPrecision,
      facePrecision: faceModel && infos.some((f) => f.restored) ? faceModel.precision : null,
    },
  };
}
