/**
 * Method `portrait` end to end on a synthetic composite: known faces from faces/val pasted into a
 * natural scene at known positions, sizes and rotations. Checks: every face found (box and
 * landmarks where they were pasted), each restored with the face model (the tiny random test
 * package: mechanics only), and every pixel outside the face masks byte-identical to the background
 * result. Pictures go to test-results/faces/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { cropU8, type ImageF32, type ImageU8 } from '../../src/engine/image';
import { FACE_TEMPLATE, applySim, invertSim, samplePlane, sampleBilinear, templateFootprint, templateMask, type Similarity } from '../../src/engine/faces/align';
import { detectFaces, type FaceDetection, type Point } from '../../src/engine/faces/detect';
import { MAX_FACE_FRAME_PX_NATURAL, detectPortraitFaces, faceTransform, lanczosU8, restorePortrait, type PortraitProgress } from '../../src/engine/faces/portrait';
import { SHARED_DATA, hasShared, sharedSkipReason } from '../helpers/shared-data';
import * as ort from 'onnxruntime-node';
import { loadModel, type ModelPackage } from '../../src/engine/diffusion/index';

const FIX = new URL('../fixtures/models/', import.meta.url).pathname;
const OUT = new URL('../../test-results/faces/', import.meta.url).pathname;

interface Pasted {
  file: string;
  /** Face width (template frame) in scene pixels, rotation in degrees, centre. */
  size: number;
  angle: number;
  cx: number;
  cy: number;
  /** scene → template. */
  P: Similarity;
  landmarks: Point[];
}

async function readRgb(file: string, width?: number): Promise<ImageU8> {
  let s = sharp(file).removeAlpha();
  if (width) s = s.resize(width);
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
}

function f32(img: ImageU8): ImageF32 {
  return { width: img.width, height: img.height, data: Float32Array.from(img.data, (v) => v / 255) };
}

/** Pastes a 128² face into the scene with the template's elliptical feathered mask. */
function paste(scene: ImageU8, face: ImageF32, P: Similarity): void {
  const mask = templateMask(128, { feather: 0.12, rx: 0.48, ry: 0.52 });
  const fp = templateFootprint(P, 128, scene.width, scene.height);
  const px = new Float32Array(3);
  for (let y = fp.y0; y < fp.y1; y++)
    for (let x = fp.x0; x < fp.x1; x++) {
      const [u, v] = applySim(P, [x, y]);
      const w = samplePlane(mask, 128, 128, u, v);
      if (!(w > 0)) continue;
      sampleBilinear(face, u, v, px);
      for (let k = 0; k < 3; k++) {
        const i = (y * scene.width + x) * 3 + k;
        scene.data[i] = Math.round(scene.data[i] * (1 - w) + px[k] * 255 * w);
      }
    }
}

async function save(img: ImageU8, name: string) {
  mkdirSync(OUT, { recursive: true });
  await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels as 3 } }).png().toFile(join(OUT, name));
}

describe.skipIf(!hasShared)('portrait: synthetic composite', () => {
  if (!hasShared) it.skip(sharedSkipReason, () => {});
  let scene: ImageU8;
  const pasted: Pasted[] = [];
  let found: FaceDetection[] = [];

  beforeAll(async () => {
    // Scene: a B100 photo (a castle and its reflection, no faces) at 360 px wide; three val faces at different sizes and tilts.
    scene = await readRgb(join(SHARED_DATA, 'natural/B100/102061.png'), 360);
    const specs = [
      { file: '00003.png', size: 40, angle: 0, cx: 70, cy: 80 },
      { file: '00017.png', size: 50, angle: 14, cx: 190, cy: 150 },
      { file: '00042.png', size: 60, angle: -18, cx: 290, cy: 330 },
    ];
    for (const s of specs) {
      const face = f32(await readRgb(join(SHARED_DATA, 'faces/val', s.file)));
      const k = 128 / s.size;
      const th = (-s.angle * Math.PI) / 180;
      // scene → template: rotate by −angle about the centre, scale, centre on (64, 64).
      const a = k * Math.cos(th);
      const b = k * Math.sin(th);
      const P: Similarity = { a, b, tx: 63.5 - (a * s.cx - b * s.cy), ty: 63.5 - (b * s.cx + a * s.cy) };
      paste(scene, face, P);
      const inv = invertSim(P);
      pasted.push({ ...s, P, landmarks: FACE_TEMPLATE.points.map((p) => applySim(inv, p)) });
    }
    await save(scene, 'composite.png');
    found = await detectFaces(scene);
  });

  it('finds every pasted face, with its 5 landmarks where the template puts them', () => {
    expect(found.length).toBeGreaterThanOrEqual(3);
    for (const p of pasted) {
      // The detection whose nose is nearest the pasted face's centre.
      const d = found.map((f) => ({ f, e: Math.hypot(f.landmarks[2][0] - p.landmarks[2][0], f.landmarks[2][1] - p.landmarks[2][1]) })).sort((x, y) => x.e - y.e)[0];
      expect(d.e).toBeLessThan(0.12 * p.size);
      // All five within 15 % of the face size (val faces vary around the train mean: ~2–4 px at 128).
      d.f.landmarks.forEach((q, k) => expect(Math.hypot(q[0] - p.landmarks[k][0], q[1] - p.landmarks[k][1])).toBeLessThan(0.15 * p.size));
      // The box's centre lies inside the pasted face.
      const cx = d.f.box.x + d.f.box.w / 2;
      const cy = d.f.box.y + d.f.box.h / 2;
      expect(Math.hypot(cx - p.cx, cy - p.cy)).toBeLessThan(0.3 * p.size);
      // The fitted transform recovers the paste's scale and rotation.
      const M = faceTransform(d.f.landmarks, 1);
      expect(Math.hypot(M.a, M.b) / Math.hypot(p.P.a, p.P.b)).toBeGreaterThan(0.85);
      expect(Math.hypot(M.a, M.b) / Math.hypot(p.P.a, p.P.b)).toBeLessThan(1.15);
      const rot = (Math.atan2(M.b, M.a) * 180) / Math.PI;
      expect(Math.abs(rot - -p.angle)).toBeLessThan(6);
    }
  });

  it("method 'auto' restores as portrait only when the face model would restore a face (and never with autoFaces: false)", async () => {
    const { runRestore } = await import('../../src/engine/restore');
    const { tmpDir } = await import('../helpers/shared-data');
    const dir = tmpDir('daguerre-auto-');
    const big = join(dir, 'composite.png');
    await sharp(Buffer.from(scene.data), { raw: { width: scene.width, height: scene.height, channels: 3 } }).png().toFile(big);
    const small = join(dir, 'composite-half.png');
    await sharp(big).resize(Math.round(scene.width / 2)).png().toFile(small);
    const run = (input: string, extra: Record<string, unknown> = {}) =>
      runRestore({ input, output: join(dir, `out-${Math.random().toString(36).slice(2)}.png`), params: { scale: 2, method: 'auto', fidelity: 0, seed: 1, sampler: 'csa', ...extra }, format: 'png', modelDirs: [FIX] });
    // Full size: the pasted faces span 40–60 px, over a natural background all are left to it.
    const a = await run(big);
    expect(a.method).toBe('tiny-x4');
    expect(a.info.autoFaces).toMatchObject({ found: 3, restorable: 0, picked: 'tiny-x4' });
    // Half size: the 40 px face becomes a 20 px one, which the face model restores.
    const b = await run(small);
    expect(b.method).toBe('portrait');
    expect((b.info.autoFaces as { restorable: number }).restorable).toBeGreaterThanOrEqual(1);
    const pi = b.info.portrait as { faces: { restored: boolean }[]; background: string };
    expect(pi.background).toBe('tiny-x4');
    expect(pi.faces.some((f) => f.restored)).toBe(true);
    const c = await run(small, { autoFaces: false });
    expect(c.method).toBe('tiny-x4');
    expect(c.info.autoFaces).toBeUndefined();
  });

  it('restores each face with the face model and leaves every pixel outside the masks equal to the background', async () => {
    const scale = 4;
    const progress: PortraitProgress[] = [];
    const r = await restorePortrait(scene, { scale, fidelity: 0.5, seed: 7, modelDirs: [FIX], backgroundModel: 'lanczos', maxFaceFramePx: 64, onProgress: (p) => progress.push(p) });
    expect(r.info.background).toBe('lanczos');
    expect(r.info.faceModel).toBe('tiny-face-x8');
    expect(r.image.width).toBe(scene.width * scale);
    expect(r.image.height).toBe(scene.height * scale);
    const restored = r.info.faces.filter((f) => f.restored);
    expect(restored.length).toBeGreaterThanOrEqual(3);
    for (const f of restored) expect(f.calls).toBeGreaterThan(0);
    expect(r.info.calls).toBe(r.info.faces.reduce((a, f) => a + f.calls, 0));
    // Progress: monotone, per face, ends near 1.
    for (let i = 1; i < progress.length; i++) expect(progress[i].fraction).toBeGreaterThanOrEqual(progress[i - 1].fraction);
    expect(new Set(progress.filter((p) => p.stage === 'face').map((p) => p.face)).size).toBe(r.info.faces.length);
    expect(progress.at(-1)!.fraction).toBeGreaterThan(0.99);

    const bg = await lanczosU8(scene, scene.width * scale, scene.height * scale);
    const mask = templateMask(128);
    const inside = new Uint8Array(bg.width * bg.height);
    for (const f of restored) {
      const M = faceTransform(f.landmarks, scale);
      const fp = templateFootprint(M, 128, bg.width, bg.height);
      for (let y = fp.y0; y < fp.y1; y++)
        for (let x = fp.x0; x < fp.x1; x++) {
          const [u, v] = applySim(M, [x, y]);
          if (samplePlane(mask, 128, 128, u, v) > 0) inside[y * bg.width + x] = 1;
        }
    }
    let outsideDiff = 0;
    let insideDiff = 0;
    let nInside = 0;
    for (let i = 0; i < inside.length; i++) {
      const d = Math.abs(r.image.data[i * 3] - bg.data[i * 3]) + Math.abs(r.image.data[i * 3 + 1] - bg.data[i * 3 + 1]) + Math.abs(r.image.data[i * 3 + 2] - bg.data[i * 3 + 2]);
      if (inside[i]) {
        nInside++;
        if (d > 0) insideDiff++;
      } else if (d > 0) outsideDiff++;
    }
    expect(outsideDiff).toBe(0);
    expect(nInside).toBeGreaterThan(0);
    expect(insideDiff / nInside).toBeGreaterThan(0.3);
    await save(r.image, 'composite_portrait_x4.png');

    // Same inputs → byte-identical output.
    const again = await restorePortrait(scene, { scale, fidelity: 0.5, seed: 7, modelDirs: [FIX], backgroundModel: 'lanczos', maxFaceFramePx: 64 });
    expect(Buffer.compare(Buffer.from(again.image.data), Buffer.from(r.image.data))).toBe(0);
  });

  it('geometry check with a stand-in face model that returns its conditioning: the face comes back where it was', async () => {
    // x̂₀ = cond (the bicubic ×8 of the 16² input): the pasted-back face is a blurred copy of the
    // aligned crop, so any misalignment of crop or warp-back shows as a large error against the
    // plain ×4 inside the masks.
    const pkg = await loadModel(join(FIX, 'tiny-face-x8'));
    const echo = {
      ...pkg,
      denoiser: {
        run: async (f: Record<string, { data: Float32Array; dims: readonly number[] }>) => {
          const xt = f.x_t.data;
          const cond = f.cond.data;
          const g = f.gamma.data;
          const per = xt.length / g.length;
          const eps = new Float32Array(xt.length);
          for (let i = 0; i < xt.length; i++) {
            const gm = Math.min(g[Math.floor(i / per)], 0.999999);
            eps[i] = (xt[i] - gm * cond[i]) / Math.sqrt(1 - gm * gm);
          }
          return { eps: new ort.Tensor('float32', eps, f.x_t.dims as number[]) };
        },
      },
    } as unknown as ModelPackage;
    const scale = 4;
    const r = await restorePortrait(scene, { scale, fidelity: 0.5, seed: 7, modelDirs: [FIX], backgroundModel: 'lanczos', maxFaceFramePx: 64, faceModelPackage: echo, sampler: 'ddim:4' });
    const bg = await lanczosU8(scene, scene.width * scale, scene.height * scale);
    const mask = templateMask(128);
    for (const f of r.info.faces.filter((x) => x.restored)) {
      const M = faceTransform(f.landmarks, scale);
      const fp = templateFootprint(M, 128, bg.width, bg.height);
      let se = 0;
      let n = 0;
      for (let y = fp.y0; y < fp.y1; y++)
        for (let x = fp.x0; x < fp.x1; x++) {
          const [u, v] = applySim(M, [x, y]);
          if (samplePlane(mask, 128, 128, u, v) < 0.99) continue;
          for (let k = 0; k < 3; k++) se += (r.image.data[(y * bg.width + x) * 3 + k] - bg.data[(y * bg.width + x) * 3 + k]) ** 2;
          n += 3;
        }
      const psnr = 10 * Math.log10((255 * 255) / (se / n));
      // A blurred but aligned copy: ≥ 24 dB; half a face-pixel of misalignment drops well below.
      expect(psnr).toBeGreaterThan(24);
    }
    await save(r.image, 'composite_portrait_echo_x4.png');
  });

  it('excludeFaces leaves that face to the background; user boxes replace detection', async () => {
    const scale = 2;
    const ex = await restorePortrait(scene, { scale, fidelity: 0.3, seed: 1, modelDirs: [FIX], backgroundModel: 'lanczos', maxFaceFramePx: 64, excludeFaces: [1] });
    expect(ex.info.faces[1].restored).toBe(false);
    expect(ex.info.faces[1].reason).toMatch(/excluded/);
    expect(ex.info.faces[0].restored).toBe(true);
    // faces.detect returns the same list, in the same order, that excludeFaces indexes.
    const det = await detectPortraitFaces(scene, { maxFaceFramePx: 64 });
    expect(det.map((d) => d.box)).toEqual(ex.info.faces.map((f) => f.box));
    expect(det.every((d) => d.restorable)).toBe(true);
    // A per-face knob reaches that face only.
    const knobs = await restorePortrait(scene, { scale, fidelity: 0.3, seed: 1, modelDirs: [FIX], backgroundModel: 'lanczos', maxFaceFramePx: 64, faceFidelity: { 2: 1 } });
    expect(knobs.info.faces.map((f) => f.fidelity)).toEqual([0.3, 0.3, 1]);
    expect(knobs.info.faces[2].calls).not.toBe(knobs.info.faces[0].calls);
    // The excluded face's region equals the background.
    const bg = await lanczosU8(scene, scene.width * scale, scene.height * scale);
    const b = ex.info.faces[1].box;
    let diff = 0;
    for (let y = Math.round(b.y * scale); y < Math.round((b.y + b.h) * scale); y++)
      for (let x = Math.round(b.x * scale); x < Math.round((b.x + b.w) * scale); x++) {
        const nearOther = ex.info.faces.some((f, j) => j !== 1 && f.restored && Math.hypot(x / scale - (f.box.x + f.box.w / 2), y / scale - (f.box.y + f.box.h / 2)) < f.box.w);
        if (!nearOther) diff += +(ex.image.data[(y * bg.width + x) * 3] !== bg.data[(y * bg.width + x) * 3]);
      }
    expect(diff).toBe(0);

    const boxes = pasted.map((p) => ({ x: p.cx - p.size * 0.4, y: p.cy - p.size * 0.4, w: p.size * 0.8, h: p.size * 0.85 }));
    const user = await restorePortrait(scene, { scale, fidelity: 0.3, seed: 1, modelDirs: [FIX], backgroundModel: 'lanczos', maxFaceFramePx: 64, faces: boxes });
    expect(user.info.faces.length).toBe(3);
    user.info.faces.forEach((f, i) => {
      expect(f.restored).toBe(true);
      expect(f.score).toBe(1);
      // For the app's speed estimate: the 128² face runs on 64² tiles, a quarter of 128² each.
      expect(f.calls128).toBeCloseTo(f.calls / 4);
      expect(f.msSampling).toBeGreaterThan(0);
      expect(Math.hypot(f.landmarks[2][0] - pasted[i].landmarks[2][0], f.landmarks[2][1] - pasted[i].landmarks[2][1])).toBeLessThan(0.15 * pasted[i].size);
    });
  });

  it('large faces are left to the background with a reason (default: frames over 40 input px)', async () => {
    const byDefault = await detectPortraitFaces(scene);
    for (const d of byDefault) expect(d.restorable).toBe(d.framePx <= 40);
    expect(byDefault.some((d) => !d.restorable)).toBe(true);
    const r = await restorePortrait(scene, { scale: 2, fidelity: 0.3, seed: 1, modelDirs: [FIX], backgroundModel: 'lanczos', maxFaceFramePx: 54 });
    const big = r.info.faces.find((f) => f.framePx > 54);
    expect(big).toBeDefined();
    expect(big!.restored).toBe(false);
    expect(big!.reason).toMatch(/large face/);
    // 'adaptive': faces whose frame spans ≥ 32 input px are conditioned at ×4 on a 32-px frame.
    const ad = await restorePortrait(scene, { scale: 2, fidelity: 0.3, seed: 1, modelDirs: [FIX], backgroundModel: 'lanczos', maxFaceFramePx: 64, faceScale: 'adaptive' });
    for (const f of ad.info.faces) {
      expect(f.restored).toBe(true);
      expect(f.faceScale).toBe(f.framePx >= 32 ? 4 : 8);
    }
  });
});

describe('portrait: natural background and no faces', () => {
  it('uses the natural package for the scale when present, and returns the background when no face is found', async () => {
    // A flat synthetic image: nothing to detect.
    const w = 24;
    const h = 20;
    const d = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) d.set([120 + (i % 7), 100, 90], i * 3);
    const r = await restorePortrait({ width: w, height: h, channels: 3, data: d }, { scale: 4, fidelity: 0, seed: 3, sampler: 'csa', modelDirs: [FIX] });
    expect(r.info.background).toBe('tiny-x4');
    expect(r.info.faces).toEqual([]);
    expect(r.info.backgroundCalls).toBeGreaterThan(0);
    expect(r.info.backgroundCalls128).toBeGreaterThan(0);
    expect(r.info.msBackgroundSampling).toBeGreaterThan(0);
    expect(r.image.width).toBe(w * 4);
  });
});

describe.skipIf(!hasShared)('portrait through runRestore', () => {
  it("method 'portrait' runs the portrait pipeline and records its info", async () => {
    const { runRestore } = await import('../../src/engine/restore');
    const { tmpDir } = await import('../helpers/shared-data');
    const out = join(tmpDir('daguerre-portrait-'), 'family_x2.png');
    const res = await runRestore({
      input: join(SHARED_DATA, 'real/old/family_sepia_03.jpg'),
      output: out,
      // A region around the face keeps the (random tiny) natural background cheap.
      params: { scale: 2, method: 'portrait', fidelity: 0, seed: 1, sampler: 'csa', region: { x: 180, y: 15, w: 160, h: 130 } },
      format: 'png',
      modelDirs: [FIX],
    });
    expect(res.method).toBe('portrait');
    expect(res.width).toBe(320);
    const info = res.info.portrait as { faces: { restored: boolean; framePx: number; reason?: string }[]; background: string; faceModel: string };
    // Papa and Tessa (≈ 32–37 px frames): over a natural background the limit is 24 px.
    expect(info.faces.length).toBe(2);
    for (const f of info.faces) expect(f.restored).toBe(f.framePx <= MAX_FACE_FRAME_PX_NATURAL);
    expect(info.background).toBe('tiny-x4');
    expect(info.faceModel).toBe('tiny-face-x8');
    expect(res.calls).toBeGreaterThan(0);
    // The same photo region with Lanczos: both faces restored (limit 40 px).
    const lz = await restorePortrait(
      await (async () => {
        const { decodeImage } = await import('../../src/engine/image-io');
        const { rgb } = await decodeImage(join(SHARED_DATA, 'real/old/family_sepia_03.jpg'));
        return cropU8(rgb, { x: 180, y: 15, w: 160, h: 130 });
      })(),
      { scale: 2, fidelity: 0, seed: 1, sampler: 'csa', modelDirs: [FIX], backgroundModel: 'lanczos' },
    );
    expect(lz.info.faces.map((f) => f.restored)).toEqual([true, true]);
    expect(res.metrics.lrPsnr).toBeGreaterThan(0);
  });
});
