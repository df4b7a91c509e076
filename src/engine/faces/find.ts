/**
 * The engine host's side of the app's `faces.detect`: decode the photo (EXIF orientation applied, as
 * a restore does) and find its faces as `portrait` would, in the order `excludeFaces` indices refer to.
 * Boxes and landmarks are clamped to the photo and rounded to 0.01 px.
 */
import { decodeImage } from '../image-io';
import { faceDetectorId, loadFaceApi, type Point } from './detect';
import { detectPortraitFaces } from './portrait';

export interface FoundFaceRaw {
  box: { x: number; y: number; w: number; h: number };
  score: number;
  landmarks: [number, number][];
  residual: number;
  framePx: number;
}

export interface FindFacesAnswer {
  faces: FoundFaceRaw[];
  ms: number;
  detector: string;
  width: number;
  height: number;
}

/** The detector (tfjs, face-api weights) could not be loaded. */
export class DetectorError extends Error {
  readonly code = 'DETECTOR';
}

const r2 = (v: number) => Math.round(v * 100) / 100;

export async function findFaces(input: string): Promise<FindFacesAnswer> {
  const t0 = performance.now();
  const { rgb } = await decodeImage(input);
  try {
    await loadFaceApi();
  } catch (e) {
    throw new DetectorError(`no face detector: ${(e as Error).message.split('\n')[0]}`);
  }
  const W = rgb.width;
  const H = rgb.height;
  const found = await detectPortraitFaces(rgb, {});
  const faces: FoundFaceRaw[] = [];
  for (const f of found) {
    const x0 = Math.max(0, Math.min(W - 1, f.box.x));
    const y0 = Math.max(0, Math.min(H - 1, f.box.y));
    const x1 = Math.max(x0 + 1, Math.min(W, f.box.x + f.box.w));
    const y1 = Math.max(y0 + 1, Math.min(H, f.box.y + f.box.h));
    faces.push({
      box: { x: r2(x0), y: r2(y0), w: r2(x1 - x0), h: r2(y1 - y0) },
      score: Math.round(f.score * 1000) / 1000,
      landmarks: f.landmarks.map((p: Point) => [r2(p[0]), r2(p[1])] as [number, number]),
      residual: r2(f.residual),
      framePx: f.framePx,
    });
  }
  return { faces, ms: Math.round(performance.now() - t0), detector: faceDetectorId(), width: W, height: H };
}
