/**
 * Damage repair with a package whose denoiser takes the mask (issue 17 item 2; card io.denoiser.inputs
 * [x_t, cond, gamma, mask], DESIGN §1.2): the engine feeds every run a `mask` input — zeros without
 * repair, each tile's window of the pass's output-sized (nearest-resized) mask with repair, gathered
 * with its lanes when only some tiles run — and runs no resampling jumps unless asked. The fixture
 * (test/fixtures/models/repair/tiny-mask-x4, make_fixtures.py) has random weights, the mask's too, so
 * the mask changes ε: the output changes in the tiles that hold damage and in no other.
 */
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasMaskInput } from '../../src/shared/card';
import { resizeMaskNearest, type Mask } from '../../src/engine/damage/mask';
import type { ImageF32 } from '../../src/engine/image';
import { loadModel, restoreDiffusion, type DiffusionOptions, type ModelPackage } from '../../src/engine/diffusion/index';
import { reflectIndex, tileAt, tileGrid } from '../../src/engine/diffusion/tiles';

const FIX = new URL('../fixtures/models/', import.meta.url).pathname;
let pkg: ModelPackage;
let plainPkg: ModelPackage;

interface Run {
  names: string[];
  mask: Float32Array | null;
  dims: readonly number[] | null;
}

/** The package with its denoiser session wrapped: every run's feed names and mask recorded. */
function recording(p: ModelPackage): { model: ModelPackage; runs: Run[] } {
  const runs: Run[] = [];
  const real = p.denoiser;
  const denoiser = {
    run: async (f: Record<string, ort.Tensor>) => {
      const m = f.mask;
      runs.push({ names: Object.keys(f).sort(), mask: m ? Float32Array.from(m.data as Float32Array) : null, dims: m ? m.dims : null });
      return real.run(f);
    },
  } as unknown as ModelPackage['denoiser'];
  return { model: { ...p, denoiser }, runs };
}

const picture = (w: number, h: number): ImageF32 => {
  const d = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const x = i % w;
    const y = Math.floor(i / w);
    d[i * 3] = 0.5 + 0.3 * Math.sin(x / 4);
    d[i * 3 + 1] = 0.4 + 0.2 * Math.cos(y / 3);
    d[i * 3 + 2] = 0.5 + 0.25 * Math.sin((x + y) / 5);
  }
  return { width: w, height: h, data: d };
};

/** A scratch in the top-left part only (so most tiles hold no damage). */
const scratch = (w: number, h: number): Mask => {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (Math.abs(x - y) <= 1 && x < w / 3 && y < h / 3) m[y * w + x] = 255;
  return { width: w, height: h, data: m };
};

const LW = 40;
const LH = 36;
const S = 4;
const lr = picture(LW, LH);
const mask = scratch(LW, LH);

/** Each tile's expected mask plane (the pass's output-sized mask, reflected windows) and its output rectangle. */
function expectedTiles(p: ModelPackage) {
  const W = LW * S;
  const H = LH * S;
  const big = resizeMaskNearest(mask, W, H);
  const grid = tileGrid(W, H, p.card.tile);
  const tw = grid.x.len;
  const th = grid.y.len;
  return Array.from({ length: grid.count }, (_, t) => {
    const { col, row } = tileAt(grid, t);
    const x0 = grid.x.starts[col];
    const y0 = grid.y.starts[row];
    const plane = new Float32Array(tw * th);
    for (let j = 0; j < th; j++) for (let k = 0; k < tw; k++) plane[j * tw + k] = big.data[reflectIndex(y0 + j, H) * W + reflectIndex(x0 + k, W)] ? 1 : 0;
    return { plane, damaged: plane.some((v) => v > 0), x0, y0, tw, th };
  });
}

const base: DiffusionOptions = { scale: S, seed: 5, fidelity: 0.5, sampler: 'skipdiff', batch: 64 };

beforeAll(async () => {
  pkg = await loadModel(join(FIX, 'repair', 'tiny-mask-x4'), { threads: 1 });
  plainPkg = await loadModel(join(FIX, 'tiny-x4'), { threads: 1 });
});

describe('denoiser with the damage-mask input', () => {
  it('the card declares the input; the ONNX session has it', () => {
    expect(hasMaskInput(pkg.card)).toBe(true);
    expect(hasMaskInput(plainPkg.card)).toBe(false);
    expect([...pkg.denoiser.inputNames].sort()).toEqual(['cond', 'gamma', 'mask', 'x_t']);
  });

  it('without repair every run gets a zero mask, and an empty repair mask gives the same bytes', async () => {
    const rec = recording(pkg);
    const plain = await restoreDiffusion(rec.model, lr, base);
    expect(rec.runs.length).toBeGreaterThan(0);
    for (const r of rec.runs) {
      expect(r.names).toEqual(['cond', 'gamma', 'mask', 'x_t']);
      expect(r.dims?.[1]).toBe(1);
      expect(r.mask!.every((v) => v === 0)).toBe(true);
    }
    const empty = await restoreDiffusion(pkg, lr, { ...base, repair: { mask: { width: LW, height: LH, data: new Uint8Array(LW * LH) } } });
    expect(Buffer.from(empty.image.data.buffer).equals(Buffer.from(plain.image.data.buffer))).toBe(true);
    expect(empty.info.calls).toBe(plain.info.calls);
  });

  it("with repair each tile's run gets the tile's window of the mask, no jumps by default", async () => {
    const tiles = expectedTiles(pkg);
    expect(tiles.length).toBeGreaterThan(2);
    expect(tiles.some((t) => t.damaged) && tiles.some((t) => !t.damaged)).toBe(true);
    const plane = tiles[0].tw * tiles[0].th;
    const rec = recording(pkg);
    const plain = await restoreDiffusion(pkg, lr, base);
    const fixed = await restoreDiffusion(rec.model, lr, { ...base, repair: { mask } });
    expect(fixed.info.calls).toBe(plain.info.calls); // defaultJumps: 0 for a mask-input package
    for (const r of rec.runs) {
      expect(r.dims).toEqual([tiles.length, 1, tiles[0].th, tiles[0].tw]); // one batch of every tile: slot i = tile i
      tiles.forEach((t, i) => expect(r.mask!.subarray(i * plane, (i + 1) * plane)).toEqual(t.plane));
    }
    // The output changes inside the mask, and only in tiles that hold damage.
    const W = LW * S;
    const big = resizeMaskNearest(mask, W, LH * S);
    let inside = 0;
    let n = 0;
    const touched = new Uint8Array(W * LH * S);
    for (const t of tiles.filter((u) => u.damaged)) for (let y = t.y0; y < Math.min(LH * S, t.y0 + t.th); y++) for (let x = t.x0; x < Math.min(W, t.x0 + t.tw); x++) touched[y * W + x] = 1;
    let changedOutside = 0;
    for (let p = 0; p < touched.length; p++) {
      for (let c = 0; c < 3; c++) {
        const a = plain.image.data[p * 3 + c];
        const b = fixed.image.data[p * 3 + c];
        if (!touched[p] && a !== b) changedOutside++;
        if (big.data[p]) {
          inside += Math.abs(a - b);
          n++;
        }
      }
    }
    expect(changedOutside).toBe(0);
    expect(n).toBeGreaterThan(0);
    expect(inside / n).toBeGreaterThan(1e-3);
    expect(touched.some((v) => !v)).toBe(true);
  });

  it('jumps when asked: their runs (only the damaged tiles) get those tiles\' masks, gathered in order', async () => {
    const tiles = expectedTiles(pkg);
    const plane = tiles[0].tw * tiles[0].th;
    const damaged = tiles.filter((t) => t.damaged);
    const rec = recording(pkg);
    const plain = await restoreDiffusion(pkg, lr, base);
    const r = await restoreDiffusion(rec.model, lr, { ...base, repair: { mask, jumps: 1 } });
    expect(r.info.calls).toBeGreaterThan(plain.info.calls);
    const jumpRuns = rec.runs.filter((u) => u.dims![0] === damaged.length);
    expect(damaged.length).toBeLessThan(tiles.length);
    expect(jumpRuns.length).toBeGreaterThan(0);
    for (const u of jumpRuns) damaged.forEach((t, i) => expect(u.mask!.subarray(i * plane, (i + 1) * plane)).toEqual(t.plane));
  });

  it('a package without the input never gets one', async () => {
    const rec = recording(plainPkg);
    await restoreDiffusion(rec.model, lr, { ...base, repair: { mask, jumps: 0 } });
    expect(rec.runs.length).toBeGreaterThan(0);
    for (const r of rec.runs) expect(r.names).toEqual(['cond', 'gamma', 'x_t']);
  });
});
