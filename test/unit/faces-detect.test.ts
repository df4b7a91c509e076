import { describe, expect, it } from 'vitest';
import { chromaSpread, detectorInput, fivePoints, iou, nms, resizeRgbBilinear, templateResidual, type Point } from '../../src/engine/faces/detect';
import { FACE_TEMPLATE } from '../../src/engine/faces/align';
import { skipReason } from '../../src/engine/faces/portrait';
import type { ImageU8 } from '../../src/engine/image';

function img(w: number, h: number, f: (x: number, y: number) => [number, number, number]): ImageU8 {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d.set(f(x, y), (y * w + x) * 3);
  return { width: w, height: h, channels: 3, data: d };
}

describe('detector helpers', () => {
  it('iou and nms: overlapping, nested and same-centre boxes collapse to the best one', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 10, h: 10 })).toBe(1);
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 20, y: 0, w: 10, h: 10 })).toBe(0);
    const kept = nms([
      { x: 0, y: 0, w: 40, h: 40, score: 0.9 },
      { x: 4, y: 2, w: 40, h: 40, score: 0.8 }, // overlaps
      { x: 10, y: 10, w: 12, h: 12, score: 0.95 }, // inside the first, higher score: it wins, the first goes
      { x: 100, y: 100, w: 20, h: 20, score: 0.5 },
      { x: 103, y: 101, w: 12, h: 30, score: 0.45 }, // centre on the previous one
    ]);
    expect(kept.map((k) => k.score)).toEqual([0.95, 0.5]);
  });

  it('monochrome prints (grey, sepia) become stretched luminance; colour keeps its hues', () => {
    const sepia = img(32, 16, (x) => {
      const v = 80 + x * 2;
      return [Math.min(255, v + 30), v + 10, Math.max(0, v - 20)];
    });
    expect(chromaSpread(sepia)).toBeLessThan(6);
    const d = detectorInput(sepia);
    for (let i = 0; i < 32 * 16; i++) {
      expect(d.data[i * 3]).toBe(d.data[i * 3 + 1]);
      expect(d.data[i * 3 + 1]).toBe(d.data[i * 3 + 2]);
    }
    // Stretched to (nearly) the full range.
    expect(Math.max(...d.data)).toBeGreaterThan(250);
    expect(Math.min(...d.data)).toBeLessThan(5);
    const colour = img(32, 16, (x, y) => (x < 16 ? [200, 40, 40] : y < 8 ? [40, 200, 40] : [40, 40, 200]));
    expect(chromaSpread(colour)).toBeGreaterThan(6);
    const c = detectorInput(colour);
    expect(c.data[0]).toBeGreaterThan(c.data[1]); // red stays red
  });

  it('bilinear resize keeps a constant image constant and has the right size', () => {
    const g = img(10, 7, () => [90, 120, 150]);
    const r = resizeRgbBilinear(g, 23, 5);
    expect(r.width).toBe(23);
    expect(r.height).toBe(5);
    for (let i = 0; i < r.data.length; i += 3) expect([r.data[i], r.data[i + 1], r.data[i + 2]]).toEqual([90, 120, 150]);
  });

  it('five points from 68: eye centres, nose tip, mouth corners', () => {
    const p68: Point[] = Array.from({ length: 68 }, (_, i) => [i, 2 * i]);
    const p5 = fivePoints(p68);
    expect(p5[0]).toEqual([38.5, 77]);
    expect(p5[1]).toEqual([44.5, 89]);
    expect(p5[2]).toEqual([30, 60]);
    expect(p5[3]).toEqual([48, 96]);
    expect(p5[4]).toEqual([54, 108]);
  });

  it('template residual: 0 for any similarity of the template, large for a collapsed set', () => {
    const T = FACE_TEMPLATE.points;
    const th = 0.4;
    const moved = T.map(([x, y]) => [0.3 * (Math.cos(th) * x - Math.sin(th) * y) + 500, 0.3 * (Math.sin(th) * x + Math.cos(th) * y) - 20] as Point);
    expect(templateResidual(moved, T)).toBeLessThan(1e-9);
    const collapsed: Point[] = [
      [10, 10],
      [11, 10],
      [10.5, 10.2],
      [10.4, 9.9],
      [10.6, 10.1],
    ];
    expect(templateResidual(collapsed, T)).toBeGreaterThan(9);
    // Mirrored (eyes swapped) is not a face for a proper similarity.
    const swapped = [T[1], T[0], T[2], T[4], T[3]];
    expect(templateResidual(swapped, T)).toBeGreaterThan(9);
  });

  it('skip reasons: landmarks, too small, large, else restored', () => {
    const t = { maxResidual: 9, minFrame: 8, maxFrame: 64 };
    expect(skipReason(12, 30, t)).toMatch(/landmarks/);
    expect(skipReason(3, 5, t)).toMatch(/too small/);
    expect(skipReason(3, 80, t)).toMatch(/large face/);
    expect(skipReason(3, 30, t)).toBeNull();
    expect(skipReason(NaN, 30, t)).toMatch(/landmarks/);
  });
});
