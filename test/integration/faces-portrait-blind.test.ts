/**
 * portrait with a face-blind package (tiny random-weight fixture): picked over face-x8 when installed, restores a
 * face far larger than today's 40 px limit at ×1 on a 256² frame, and leaves pixels outside the face untouched.
 * Without the package, today's choice (a 'face' package) stands.
 */
import { describe, expect, it } from 'vitest';
import type { ImageU8 } from '../../src/engine/image';
import { FACE_TEMPLATE } from '../../src/engine/faces/align';
import { lanczosU8, portraitModels, restorePortrait } from '../../src/engine/faces/portrait';

const FIX = new URL('../fixtures/models/', import.meta.url).pathname;
const BLIND = new URL('../fixtures/models/face-blind/', import.meta.url).pathname;

/** A smooth synthetic photo W×H and a face whose template frame spans `frame` input px at (cx, cy). */
function scene(W: number, H: number) {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let k = 0; k < 3; k++) data[(y * W + x) * 3 + k] = Math.round(128 + 80 * Math.sin((x + 17 * k) / 9) * Math.cos(y / 13));
  return { width: W, height: H, channels: 3, data } as ImageU8;
}
function faceAt(cx: number, cy: number, frame: number) {
  const k = frame / FACE_TEMPLATE.size;
  const landmarks = FACE_TEMPLATE.points.map(([u, v]) => [cx + (u - 64) * k, cy + (v - 64) * k] as [number, number]);
  return { box: { x: cx - frame / 2, y: cy - frame / 2, w: frame, h: frame }, score: 1, landmarks, residual: 0 };
}

describe('portrait with a face-blind package', () => {
  it('prefers the face-blind package when installed, keeps face-x8-style choice otherwise', async () => {
    expect((await portraitModels({ modelDirs: [FIX], scale: 2 })).face?.id).toBe('tiny-face-x8');
    expect((await portraitModels({ modelDirs: [FIX, BLIND], scale: 2 })).face?.id).toBe('tiny-face-blind');
    expect((await portraitModels({ modelDirs: [FIX, BLIND], scale: 2, faceModel: 'tiny-face-x8' })).face?.id).toBe('tiny-face-x8');
  });

  it('restores a 150 px face (today: left to the background) and writes only inside the face mask', async () => {
    const lr = scene(220, 200);
    const detected = [faceAt(110, 100, 150)];
    const base = { scale: 2, fidelity: 0.5, seed: 3, backgroundModel: 'lanczos', sampler: 'ddim:2', detected };
    const today = await restorePortrait(lr, { ...base, modelDirs: [FIX] });
    expect(today.info.faces[0].restored).toBe(false);
    expect(today.info.faces[0].reason).toMatch(/large face/);
    const r = await restorePortrait(lr, { ...base, modelDirs: [FIX, BLIND] });
    expect(r.info.faceModel).toBe('tiny-face-blind');
    const f = r.info.faces[0];
    expect(f.restored).toBe(true);
    expect(f.faceScale).toBe(1);
    expect(f.framePx).toBeCloseTo(150, 0);
    const bg = await lanczosU8(lr, 440, 400);
    // corners (far outside the face) are the background's bytes; the face centre is not
    for (const [x, y] of [[0, 0], [439, 0], [0, 399], [439, 399]]) for (let k = 0; k < 3; k++) expect(r.image.data[(y * 440 + x) * 3 + k]).toBe(bg.data[(y * 440 + x) * 3 + k]);
    let diff = 0;
    for (let y = 180; y < 220; y++) for (let x = 200; x < 240; x++) for (let k = 0; k < 3; k++) diff += Math.abs(r.image.data[(y * 440 + x) * 3 + k] - bg.data[(y * 440 + x) * 3 + k]);
    expect(diff / (40 * 40 * 3)).toBeGreaterThan(0.5);
  }, 120_000);
});
