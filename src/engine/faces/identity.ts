/**
 * Identity as a metric: @vladmandic/face-api's 128-d face descriptor (faceRecognitionNet, a ResNet-34
 * trained for face verification; face-api's own threshold for "same person" is a distance of 0.6), on
 * the same tfjs-wasm setup as detect.ts.
 *
 *   identityBox(gt)                       where the face is on the ground truth (detector + 68 landmarks)
 *   faceDescriptor(img, box)              the descriptor of that square region
 *   identityDistance(a, b)                Euclidean distance of two descriptors
 *
 * For a bench, take the box from the ground truth once and use it on both the ground truth and the
 * restored image (same geometry), so the distance does not depend on detection on a restored face.
 */
import { cropU8, type ImageU8 } from '../image';
import { detectFaces, faceApiModelDir, loadFaceApi, type Box } from './detect';

let recog: Promise<void> | null = null;
async function loadRecognition() {
  const api = await loadFaceApi();
  recog ??= api.faceapi.nets.faceRecognitionNet.loadFromDisk(faceApiModelDir());
  recog.catch(() => {
    recog = null;
  });
  await recog;
  return api;
}

/** A square box around the face's 68 landmarks (face-api's recognition net wants a tight face chip), or null. */
export async function identityBox(img: ImageU8): Promise<Box | null> {
  const faces = await detectFaces(img, { tiles: false });
  if (!faces.length) return null;
  const f = faces.sort((a, b) => b.box.w * b.box.h - a.box.w * a.box.h)[0];
  const xs = f.landmarks68.map((p) => p[0]);
  const ys = f.landmarks68.map((p) => p[1]);
  const cx = (Math.max(...xs) + Math.min(...xs)) / 2;
  const cy = (Math.max(...ys) + Math.min(...ys)) / 2;
  const s = 1.1 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  return { x: cx - s / 2, y: cy - s / 2, w: s, h: s };
}

/** The 128-d descriptor of the region `box` of an RGB image (clamped to the image). */
export async function faceDescriptor(img: ImageU8, box: Box): Promise<Float32Array> {
  if (img.channels !== 3) throw new RangeError(`faceDescriptor: expected an RGB image, got ${img.channels} channels`);
  const x = Math.max(0, Math.floor(box.x));
  const y = Math.max(0, Math.floor(box.y));
  const w = Math.min(img.width - x, Math.round(box.w));
  const h = Math.min(img.height - y, Math.round(box.h));
  if (!(w >= 8 && h >= 8)) throw new RangeError(`faceDescriptor: face box ${JSON.stringify(box)} leaves under 8 px inside the ${img.width}x${img.height} image`);
  const crop = cropU8(img, { x, y, w, h });
  const { faceapi, tf } = await loadRecognition();
  const t = tf.tensor3d(crop.data, [crop.height, crop.width, 3], 'int32');
  try {
    const d = (await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t as never)) as Float32Array | Float32Array[];
    return Array.isArray(d) ? d[0] : d;
  } finally {
    t.dispose();
  }
}

/** Euclidean distance between two descriptors (face-api: < 0.6 is usually the same person). */
export function identityDistance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`identityDistance: descriptor lengths differ (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** Distance between a restored face and its ground truth, both at the same geometry; box from the truth. */
export async function identityDistanceToTruth(restored: ImageU8, truth: ImageU8, box?: Box | null): Promise<number | null> {
  const b = box ?? (await identityBox(truth));
  if (!b) return null;
  return identityDistance(await faceDescriptor(restored, b), await faceDescriptor(truth, b));
}
