import { describe, expect, it } from 'vitest';
import { FACE_TEMPLATE, applySim, fitError, invertSim, scaleSource, simScale, templateMask, umeyama, warpToTemplate, type Similarity } from '../../src/engine/faces/align';
import { alignedCrop, blendFace, faceTransform, toOutput } from '../../src/engine/faces/portrait';
import type { Point } from '../../src/engine/faces/detect';
import type { ImageF32, ImageU8 } from '../../src/engine/image';

/** Deterministic LCG for test data. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function sim(scale: number, theta: number, tx: number, ty: number): Similarity {
  return { a: scale * Math.cos(theta), b: scale * Math.sin(theta), tx, ty };
}

/** Image with Gaussian blobs (σ px) at the given centres, channel k = blob k (max 3). */
function blobs(w: number, h: number, centres: Point[], sigma: number): ImageF32 {
  const d = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      centres.forEach(([cx, cy], k) => {
        d[(y * w + x) * 3 + k] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma));
      });
  return { width: w, height: h, data: d };
}

/** Intensity centroid of channel k (values above `floor`), optionally within `win` px of `near`. */
function centroid(img: { width: number; height: number; data: ArrayLike<number> }, k: number, channels = 3, floor = 0.05, near?: Point, win = 15): Point {
  let sx = 0;
  let sy = 0;
  let sw = 0;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      if (near && (Math.abs(x - near[0]) > win || Math.abs(y - near[1]) > win)) continue;
      const v = img.data[(y * img.width + x) * channels + k] / (channels === 3 && img.data instanceof Uint8Array ? 255 : 1);
      const w = v > floor ? v : 0;
      sx += w * x;
      sy += w * y;
      sw += w;
    }
  return [sx / sw, sy / sw];
}

describe('similarity transforms', () => {
  it('inverse composes to the identity', () => {
    const r = rng(1);
    for (let t = 0; t < 50; t++) {
      const m = sim(0.2 + 3 * r(), (r() - 0.5) * 2 * Math.PI, (r() - 0.5) * 500, (r() - 0.5) * 500);
      const inv = invertSim(m);
      const p: Point = [r() * 1000, r() * 1000];
      const q = applySim(inv, applySim(m, p));
      expect(Math.hypot(q[0] - p[0], q[1] - p[1])).toBeLessThan(1e-9);
      expect(simScale(inv) * simScale(m)).toBeCloseTo(1, 12);
    }
  });

  it('umeyama recovers a known similarity exactly, and least-squares under noise', () => {
    const r = rng(2);
    for (let t = 0; t < 20; t++) {
      const m = sim(0.3 + 2 * r(), (r() - 0.5) * 1.5, (r() - 0.5) * 300, (r() - 0.5) * 300);
      const src: Point[] = FACE_TEMPLATE.points.map((p) => [p[0] * (1 + r()) + 40 * r(), p[1] * (1 + r()) + 40 * r()]);
      const dst = src.map((p) => applySim(m, p));
      const fit = umeyama(src, dst);
      expect(fit.a).toBeCloseTo(m.a, 9);
      expect(fit.b).toBeCloseTo(m.b, 9);
      expect(fit.tx).toBeCloseTo(m.tx, 6);
      expect(fit.ty).toBeCloseTo(m.ty, 6);
      // Noise: the fit's residual is no worse than the true transform's.
      const noisy = dst.map((p) => [p[0] + (r() - 0.5) * 4, p[1] + (r() - 0.5) * 4] as Point);
      const f2 = umeyama(src, noisy);
      expect(fitError(f2, src, noisy)).toBeLessThanOrEqual(fitError(m, src, noisy) + 1e-9);
    }
  });

  it('never reflects: a mirrored point set gives a rotation, not a flip', () => {
    const src = FACE_TEMPLATE.points;
    const dst = src.map(([x, y]) => [128 - x, y] as Point);
    const m = umeyama(src, dst);
    // A proper similarity has det = a² + b² > 0 by construction; check it cannot match a mirror.
    expect(fitError(m, src, dst)).toBeGreaterThan(1);
  });

  it('scaleSource maps input coordinates like toOutput then the transform', () => {
    const m = sim(0.7, 0.3, 10, -4);
    for (const s of [2, 4, 8]) {
      const ms = scaleSource(m, s);
      const p: Point = [13.25, 7.5];
      const a = applySim(ms, p);
      const b = applySim(m, toOutput(p, s));
      expect(Math.hypot(a[0] - b[0], a[1] - b[1])).toBeLessThan(1e-9);
    }
  });
});

describe('warps', () => {
  it('warp to the template and back: features land within 0.5 px of where they started', () => {
    const W = 300;
    const H = 260;
    const centres: Point[] = [
      [127.3, 117.7],
      [166.8, 114.2],
      [150.1, 151.5],
    ];
    const img = blobs(W, H, centres, 3);
    const r = rng(3);
    for (let t = 0; t < 8; t++) {
      // Faces 80–220 px wide in the image (the features stay inside the template), tilt up to ±35°.
      const s = 128 / (80 + 140 * r());
      const M0 = sim(s, (r() - 0.5) * 1.2, 0, 0);
      // Centre the blobs' midpoint in the template.
      const mid = applySim(M0, [147, 127]);
      const M = { ...M0, tx: 64 - mid[0], ty: 64 - mid[1] };
      const crop = warpToTemplate(img, M, 128);
      // Where the blobs should be in the template.
      centres.forEach((c, k) => {
        const want = applySim(M, c);
        const got = centroid(crop, k);
        expect(Math.hypot(got[0] - want[0], got[1] - want[1])).toBeLessThan(0.5);
      });
      // Back: warp the crop with the inverse onto the image grid (edges clamp, so measure near the feature).
      const back = warpToTemplate(crop, invertSim(M), Math.max(W, H));
      centres.forEach((c, k) => {
        const got = centroid(back, k, 3, 0.05, [Math.round(c[0]), Math.round(c[1])], 12);
        expect(Math.hypot(got[0] - c[0], got[1] - c[1])).toBeLessThan(0.5);
      });
    }
  });

  it('alignedCrop (input → template at output geometry) and blendFace (template → output) round-trip within 0.5 px', () => {
    const lrW = 80;
    const lrH = 70;
    const scale = 4;
    // Landmarks of a face ~30 px wide in the input, tilted.
    const M0 = sim(1 / (scale * 0.3), 0.25, 0, 0);
    const inv0 = invertSim(M0);
    const lmOut = FACE_TEMPLATE.points.map((p) => applySim(inv0, p));
    // Put the face at (40, 34) input px: shift in output coords.
    const shift: Point = [toOutput([40, 34], scale)[0] - lmOut[2][0], toOutput([40, 34], scale)[1] - lmOut[2][1]];
    const lmIn = lmOut.map(([x, y]) => [(x + shift[0] + 0.5) / scale - 0.5, (y + shift[1] + 0.5) / scale - 0.5] as Point);
    const M = faceTransform(lmIn, scale);
    // The fitted transform maps the landmarks exactly onto the template.
    lmIn.forEach((p, k) => {
      const q = applySim(M, toOutput(p, scale));
      expect(Math.hypot(q[0] - FACE_TEMPLATE.points[k][0], q[1] - FACE_TEMPLATE.points[k][1])).toBeLessThan(1e-6);
    });
    // A blob at the input's nose tip appears at the template's nose tip.
    const img = blobs(lrW, lrH, [lmIn[2], lmIn[0]], 1.5);
    const crop = alignedCrop(img, M, scale, 128);
    const got = centroid(crop, 0);
    expect(Math.hypot(got[0] - FACE_TEMPLATE.points[2][0], got[1] - FACE_TEMPLATE.points[2][1])).toBeLessThan(0.5);
    // And back: blend a template-frame blob at the left eye into a black output, mask 1 inside.
    const face = blobs(128, 128, [FACE_TEMPLATE.points[0]], 4);
    const out: ImageU8 = { width: lrW * scale, height: lrH * scale, channels: 3, data: new Uint8Array(lrW * scale * lrH * scale * 3) };
    const mask = new Float32Array(128 * 128).fill(1);
    blendFace(out, face, mask, M);
    const back = centroid(out, 0, 3, 0.05);
    const want = toOutput(lmIn[0], scale);
    expect(Math.hypot(back[0] - want[0], back[1] - want[1])).toBeLessThan(0.5);
  });

  it('the blend mask is feathered, 1 in the middle, exactly 0 at the border', () => {
    const m = templateMask(128);
    expect(m[64 * 128 + 64]).toBe(1);
    for (let i = 0; i < 128; i++) {
      expect(m[i]).toBe(0);
      expect(m[127 * 128 + i]).toBe(0);
      expect(m[i * 128]).toBe(0);
      expect(m[i * 128 + 127]).toBe(0);
    }
    // Some values strictly between 0 and 1 (a feather, not a hard edge).
    const mid = Array.from(m).filter((v) => v > 0.05 && v < 0.95).length;
    expect(mid).toBeGreaterThan(500);
  });
});
