/**
 * Face detection with landmarks, in Node, no network: @vladmandic/face-api's detectors and its
 * 68-point landmark net, on TensorFlow.js with the wasm backend (weights read from the package's
 * own `model/` folder in node_modules; see models/face-detector/MODEL.md).
 *
 *   detectFaces(rgb, opts)          boxes + 5 landmarks + score, input pixel coordinates
 *   landmarksForBoxes(rgb, boxes)   the landmarks of user-given boxes (the app's "add a face")
 *
 * What the bench (bench/faces-detect.ts, bench/README-faces.md) chose as the default: SSD
 * MobileNetV1 on the whole photo *and* on overlapping tiles (so that faces in group photos are not
 * shrunk to a few pixels by the detector's 512² input), grey/sepia photos fed as their contrast-
 * stretched luminance in three channels, score ≥ 0.4, boxes merged across passes by NMS.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { cropU8, type ImageU8 } from '../image';
import { FACE_TEMPLATE, fitError, umeyama } from './align';

export type Point = [number, number];

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface FaceDetection {
  box: Box;
  score: number;
  /** Image-left eye, image-right eye, nose tip, image-left mouth corner, image-right mouth corner. */
  landmarks: Point[];
  /** The 68 points the 5 come from (iBUG order). */
  landmarks68: Point[];
  /** Mean 5-point distance to the template after the best similarity, in 128² template px. */
  residual: number;
}

export type DetectorKind = 'ssd' | 'tiny';

export interface DetectOptions {
  detector?: DetectorKind;
  /** Minimum detector score (default 0.4 for ssd, 0.35 for tiny). */
  minScore?: number;
  /**
   * Also run on overlapping tiles of about `tileSize` px when the photo is larger: true (default),
   * false, or 'auto': tiles unless the whole-photo pass found only faces wider than 1/8 of the
   * photo's long side (measured: 30 % less time, one face fewer of 122 — the daguerreotype's second
   * sitter, which the whole-photo pass misses — so not the default).
   */
  tiles?: boolean | 'auto';
  tileSize?: number;
  /** Upscale photos whose short side is below this before detection (default 512). */
  minSide?: number;
  /** Grey/sepia → contrast-stretched luminance ×3 (default true; colour photos: contrast stretch only). */
  normalise?: boolean;
  /** IoU above which two boxes are the same face (default 0.35). */
  nmsIou?: number;
}

type FaceApi = typeof import('@vladmandic/face-api');
type Tf = typeof import('@tensorflow/tfjs');

const require_ = createRequire(import.meta.url);
let ready: Promise<{ faceapi: FaceApi; tf: Tf }> | null = null;

/**
 * Names the detector configuration whose answers the app caches (faces.detect, per photo content):
 * the face-api package version and this file's pipeline revision. Bump DETECT_REVISION when
 * detectFaces or its defaults change, so cached answers are not reused.
 */
export const DETECT_REVISION = 1;
export function faceDetectorId(): string {
  let v = 'missing';
  try {
    v = (require_('@vladmandic/face-api/package.json') as { version: string }).version;
  } catch {
    /* not installed: detection will fail with its own message */
  }
  return `face-api@${v}/ssd+tiles+lm68/r${DETECT_REVISION}`;
}

/** The folder holding the shipped weights (inside the npm package). */
export function faceApiModelDir(): string {
  return path.join(path.dirname(require_.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** Loads tfjs (wasm backend) and the three nets once per process. */
export function loadFaceApi(): Promise<{ faceapi: FaceApi; tf: Tf }> {
  ready ??= (async () => {
    const tf = require_('@tensorflow/tfjs') as Tf;
    require_('@tensorflow/tfjs-backend-wasm');
    const faceapi = require_('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    // In Node the wasm backend reads its .wasm from its own dist folder (no fetch).
    const ok = await tf.setBackend('wasm').catch(() => false);
    if (!ok) await tf.setBackend('cpu');
    await tf.ready();
    const dir = faceApiModelDir();
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(dir);
    await faceapi.nets.tinyFaceDetector.loadFromDisk(dir);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(dir);
    return { faceapi, tf };
  })();
  ready.catch(() => {
    ready = null;
  });
  return ready;
}

export async function faceApiBackend(): Promise<string> {
  const { tf } = await loadFaceApi();
  return tf.getBackend();
}

/** Luminance (BT.601) of an RGB/grey image, as a float plane 0..255. */
function luma(img: ImageU8): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const c = img.channels;
  for (let i = 0; i < n; i++) {
    out[i] = c >= 3 ? 0.299 * img.data[i * c] + 0.587 * img.data[i * c + 1] + 0.114 * img.data[i * c + 2] : img.data[i * c];
  }
  return out;
}

/** Mean chroma |R−G|+|G−B| over the image: small for grey, sepia and tintype prints. */
export function chromaSpread(img: ImageU8): number {
  if (img.channels < 3) return 0;
  const n = img.width * img.height;
  // Sepia has a constant hue: remove the global mean chroma first, what remains is "real" colour.
  let mr = 0;
  let mg = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    mr += img.data[i * 3] - img.data[i * 3 + 1];
    mg += img.data[i * 3 + 1] - img.data[i * 3 + 2];
  }
  mr /= n;
  mg /= n;
  for (let i = 0; i < n; i++) {
    mb += Math.abs(img.data[i * 3] - img.data[i * 3 + 1] - mr) + Math.abs(img.data[i * 3 + 1] - img.data[i * 3 + 2] - mg);
  }
  return mb / n;
}

/**
 * The detector's view of the photo: monochrome prints (grey, sepia, tintype) become their
 * luminance stretched to the 1st–99th percentile, in 3 channels; colour photos get the same
 * stretch per channel (same gain on all three, so hues stay).
 */
export function detectorInput(img: ImageU8, normalise = true): ImageU8 {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const L = luma(img);
  if (!normalise) {
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 3; k++) out[i * 3 + k] = img.channels >= 3 ? img.data[i * img.channels + k] : img.data[i * img.channels];
    }
    return { width: img.width, height: img.height, channels: 3, data: out };
  }
  const hist = new Uint32Array(256);
  for (let i = 0; i < n; i++) hist[Math.max(0, Math.min(255, Math.round(L[i])))]++;
  const pct = (p: number) => {
    let acc = 0;
    for (let v = 0; v < 256; v++) {
      acc += hist[v];
      if (acc >= p * n) return v;
    }
    return 255;
  };
  const lo = pct(0.01);
  const hi = Math.max(lo + 16, pct(0.99));
  const gain = 255 / (hi - lo);
  const mono = chromaSpread(img) < 6;
  for (let i = 0; i < n; i++) {
    if (mono) {
      const v = Math.max(0, Math.min(255, Math.round((L[i] - lo) * gain)));
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = v;
    } else {
      for (let k = 0; k < 3; k++) out[i * 3 + k] = Math.max(0, Math.min(255, Math.round((img.data[i * img.channels + k] - lo) * gain)));
    }
  }
  return { width: img.width, height: img.height, channels: 3, data: out };
}

/** Bilinear resize of an 8-bit RGB image (detector input only; quality is not critical here). */
export function resizeRgbBilinear(img: ImageU8, w: number, h: number): ImageU8 {
  const out = new Uint8Array(w * h * 3);
  const sx = img.width / w;
  const sy = img.height / h;
  for (let y = 0; y < h; y++) {
    const fy = Math.max(0, Math.min(img.height - 1, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(img.height - 1, y0 + 1);
    const ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.max(0, Math.min(img.width - 1, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(img.width - 1, x0 + 1);
      const tx = fx - x0;
      for (let k = 0; k < 3; k++) {
        const a = img.data[(y0 * img.width + x0) * 3 + k];
        const b = img.data[(y0 * img.width + x1) * 3 + k];
        const c = img.data[(y1 * img.width + x0) * 3 + k];
        const d = img.data[(y1 * img.width + x1) * 3 + k];
        out[(y * w + x) * 3 + k] = Math.round((a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty);
      }
    }
  }
  return { width: w, height: h, channels: 3, data: out };
}

export function iou(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.w, b.x + b.w);
  const y1 = Math.min(a.y + a.h, b.y + b.h);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0;
}

/** Fraction of the smaller box covered by the other (catches a tile's half-face inside a full one). */
function overlapSmall(a: Box, b: Box): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.w, b.x + b.w);
  const y1 = Math.min(a.y + a.h, b.y + b.h);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  return inter / Math.max(1e-9, Math.min(a.w * a.h, b.w * b.h));
}

interface RawBox extends Box {
  score: number;
}

/** Centres closer than half the smaller box's width: the same face found twice, offset (tiny faces). */
function sameCentre(a: Box, b: Box): boolean {
  return Math.hypot(a.x + a.w / 2 - (b.x + b.w / 2), a.y + a.h / 2 - (b.y + b.h / 2)) < 0.5 * Math.min(a.w, b.w);
}

/** Greedy NMS, highest score first; a box mostly inside a kept one, or centred on it, is dropped too. */
export function nms<T extends RawBox>(boxes: T[], thr = 0.35): T[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const keep: T[] = [];
  for (const b of sorted) if (!keep.some((k) => iou(k, b) > thr || overlapSmall(k, b) > 0.7 || sameCentre(k, b))) keep.push(b);
  return keep;
}

async function runDetector(img: ImageU8, kind: DetectorKind, minScore: number): Promise<RawBox[]> {
  const { faceapi, tf } = await loadFaceApi();
  const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
  try {
    const opt =
      kind === 'ssd'
        ? new faceapi.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: 200 })
        : new faceapi.TinyFaceDetectorOptions({ inputSize: 608, scoreThreshold: minScore });
    const dets = await faceapi.detectAllFaces(t as never, opt);
    return dets.map((d) => ({ x: d.box.x, y: d.box.y, w: d.box.width, h: d.box.height, score: d.score }));
  } finally {
    t.dispose();
  }
}

/** Tile origins along one axis: tiles of `size` with ≥ 25 % overlap covering [0, len). */
function tileStarts(len: number, size: number): number[] {
  if (len <= size) return [0];
  const n = Math.ceil((len - size) / (size * 0.75)) + 1;
  return Array.from({ length: n }, (_, i) => Math.round((i * (len - size)) / (n - 1)));
}

/** Raw detections (boxes and scores, input pixel coordinates) of one detector configuration. */
export async function detectBoxes(rgb: ImageU8, opts: DetectOptions = {}): Promise<RawBox[]> {
  const kind = opts.detector ?? 'ssd';
  const minScore = opts.minScore ?? (kind === 'ssd' ? 0.4 : 0.35);
  const minSide = opts.minSide ?? 512;
  let img = detectorInput(rgb, opts.normalise ?? true);
  // Small photos: enlarge so that the short side is ≥ minSide (the nets were trained on larger faces).
  let f = 1;
  const short = Math.min(img.width, img.height);
  if (short < minSide) {
    f = minSide / short;
    img = resizeRgbBilinear(img, Math.round(img.width * f), Math.round(img.height * f));
  }
  const found: RawBox[] = [...(await runDetector(img, kind, minScore))];
  const tileSize = opts.tileSize ?? 640;
  const tilesMode = opts.tiles ?? true;
  const long = Math.max(img.width, img.height);
  const portraitLike = found.length > 0 && found.every((b) => b.w >= long / 8);
  if ((tilesMode === true || (tilesMode === 'auto' && !portraitLike)) && long > tileSize * 1.25) {
    for (const ty of tileStarts(img.height, Math.min(tileSize, img.height))) {
      for (const tx of tileStarts(img.width, Math.min(tileSize, img.width))) {
        const tw = Math.min(tileSize, img.width);
        const th = Math.min(tileSize, img.height);
        const sub = cropU8(img, { x: tx, y: ty, w: tw, h: th });
        for (const b of await runDetector(sub, kind, minScore)) {
          // Drop boxes cut by an inner tile edge: the whole-photo pass or a neighbour tile has them whole.
          const m = 2;
          const cut = (b.x < m && tx > 0) || (b.y < m && ty > 0) || (b.x + b.w > tw - m && tx + tw < img.width) || (b.y + b.h > th - m && ty + th < img.height);
          if (!cut) found.push({ ...b, x: b.x + tx, y: b.y + ty });
        }
      }
    }
  }
  const merged = nms(found, opts.nmsIou ?? 0.35);
  return merged.map((b) => ({ x: b.x / f, y: b.y / f, w: b.w / f, h: b.h / f, score: b.score }));
}

/** The 5 points from the 68: eye centres (36–41, 42–47), nose tip (30), mouth corners (48, 54). */
export function fivePoints(p68: Point[]): Point[] {
  const mean = (a: number, b: number): Point => {
    let x = 0;
    let y = 0;
    for (let i = a; i <= b; i++) {
      x += p68[i][0];
      y += p68[i][1];
    }
    return [x / (b - a + 1), y / (b - a + 1)];
  };
  return [mean(36, 41), mean(42, 47), p68[30], p68[48], p68[54]];
}

/** Runs the 68-point net on the square crop (side S, top-left x0,y0) of a detector-view image. */
async function landmarksInSquare(img: ImageU8, x0: number, y0: number, S: number): Promise<Point[]> {
  const { faceapi, tf } = await loadFaceApi();
  S = Math.max(8, Math.round(S));
  x0 = Math.round(x0);
  y0 = Math.round(y0);
  const crop = new Uint8Array(S * S * 3);
  for (let j = 0; j < S; j++) {
    const yy = Math.max(0, Math.min(img.height - 1, y0 + j));
    for (let i = 0; i < S; i++) {
      const xx = Math.max(0, Math.min(img.width - 1, x0 + i));
      crop.set(img.data.subarray((yy * img.width + xx) * 3, (yy * img.width + xx) * 3 + 3), (j * S + i) * 3);
    }
  }
  const sq = resizeRgbBilinear({ width: S, height: S, channels: 3, data: crop }, 112, 112);
  const t = tf.tensor3d(sq.data, [112, 112, 3], 'int32');
  try {
    const lm = (await faceapi.nets.faceLandmark68Net.detectLandmarks(t as never)) as unknown as { positions: { x: number; y: number }[] };
    return lm.positions.map((p) => [x0 + (p.x * S) / 112, y0 + (p.y * S) / 112] as Point);
  } finally {
    t.dispose();
  }
}

/**
 * How face-like 5 points are: mean distance (in 128² template pixels) after the best similarity
 * onto the template. Collapsed or twisted landmark sets score high.
 */
export function templateResidual(p5: Point[], template: Point[]): number {
  try {
    return fitError(umeyama(p5, template, 1e-9), p5, template);
  } catch {
    return Infinity; // the points (nearly) coincide
  }
}


/**
 * 68 landmarks inside each box (works for user-drawn boxes too). Detector boxes vary in framing
 * (SSD's are often tall, hair included), and the landmark net fails on off-centre faces, so a few
 * square crops are tried (box centre; bottom-anchored on the box width; the width-sized square at
 * the centre), the set that fits the 5-point template best is kept, and refined once on a square
 * around its own landmarks. `residual` (template px) says how face-like the result is.
 */
export async function landmarksForBoxesScored(rgb: ImageU8, boxes: Box[], opts: { normalise?: boolean } = {}): Promise<{ points: Point[]; residual: number }[]> {
  if (!boxes.length) return [];
  const img = detectorInput(rgb, opts.normalise ?? true);
  const out: { points: Point[]; residual: number }[] = [];
  for (const b of boxes) {
    const cx = b.x + b.w / 2;
    const cy = b.y + b.h / 2;
    const s0 = Math.max(b.w, b.h);
    const sw = 1.15 * b.w;
    const cands: [number, number, number][] = [
      [cx - s0 / 2, cy - s0 / 2, s0],
      [cx - sw / 2, b.y + b.h - sw, sw],
      [cx - sw / 2, cy - sw / 2, sw],
    ];
    let best: { points: Point[]; residual: number } | null = null;
    for (const [x0, y0, S] of cands) {
      const pts = await landmarksInSquare(img, x0, y0, S);
      const r = templateResidual(fivePoints(pts), FACE_TEMPLATE.points);
      if (!best || r < best.residual) best = { points: pts, residual: r };
    }
    // Refine on a square around the landmarks themselves.
    const xs = best!.points.map((p) => p[0]);
    const ys = best!.points.map((p) => p[1]);
    const ext = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
    if (ext > 4) {
      const S = 1.3 * ext;
      const mx = (Math.max(...xs) + Math.min(...xs)) / 2;
      const my = (Math.max(...ys) + Math.min(...ys)) / 2;
      const pts = await landmarksInSquare(img, mx - S / 2, my - S / 2, S);
      const r = templateResidual(fivePoints(pts), FACE_TEMPLATE.points);
      if (r < best!.residual) best = { points: pts, residual: r };
    }
    out.push(best!);
  }
  return out;
}

export async function landmarksForBoxes(rgb: ImageU8, boxes: Box[], opts: { normalise?: boolean } = {}): Promise<Point[][]> {
  return (await landmarksForBoxesScored(rgb, boxes, opts)).map((r) => r.points);
}

/** Faces with landmarks, sorted left to right, top to bottom (stable indices for the app). */
export async function detectFaces(rgb: ImageU8, opts: DetectOptions = {}): Promise<FaceDetection[]> {
  const boxes = await detectBoxes(rgb, opts);
  const lms = await landmarksForBoxesScored(rgb, boxes, opts);
  const faces = boxes.map((b, i) => ({
    box: { x: b.x, y: b.y, w: b.w, h: b.h },
    score: b.score,
    landmarks68: lms[i].points,
    landmarks: fivePoints(lms[i].points),
    residual: lms[i].residual,
  }));
  return sortFaces(faces);
}

export function sortFaces<T extends { box: Box }>(faces: T[]): T[] {
  return [...faces].sort((a, b) => a.box.x + a.box.w / 2 - (b.box.x + b.box.w / 2) || a.box.y - b.box.y);
}
