/**
 * Golden outputs of the diffusion engine's damage repair (DiffusionOptions.repair, RePaint-style
 * jumps inside a pass): SHA-256 of the float output and the per-tile call counts of multi-tile
 * restores with a mask, with a pure-JS stand-in denoiser (the engine's own maths only, the same bits
 * on every machine). engine-golden.test.ts pins every sampler without a mask; this file pins the
 * repair jumps on top of them (tiles with and without damaged pixels in one batch, gathered calls,
 * a chained ×8 pass whose mask is resized, jumps = 0 and the default of 2).
 *
 * Recorded 2026-12-03 with runPass before it was split into denoiser / plans / tile loop (issue 18).
 * To re-record (only for an intended change of the output): GOLDEN_PRINT=1 npx vitest run
 * test/integration/engine-repair-golden.test.ts, and copy the printed table.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Mask } from '../../src/engine/damage/mask';
import type { ImageF32 } from '../../src/engine/image';
import { loadModel, restoreDiffusion, type DiffusionOptions, type ModelPackage } from '../../src/engine/diffusion/index';

const FIX = new URL('../fixtures/models/', import.meta.url).pathname;
let x4: ModelPackage;

/** ε of a fixed x̂₀ guess: the cond bent by a cosine of x_t, so the jumps' noise shows in the output. */
function repairDenoiser(pkg: ModelPackage): ModelPackage['denoiser'] {
  const [inX, inC, inG] = pkg.card.io.denoiser.inputs;
  const outE = pkg.card.io.denoiser.outputs[0];
  return {
    run: async (f: Record<string, ort.Tensor>) => {
      const xt = f[inX].data as Float32Array;
      const cond = f[inC].data as Float32Array;
      const g = f[inG].data as Float32Array;
      const per = xt.length / g.length;
      const eps = new Float32Array(xt.length);
      for (let k = 0; k < xt.length; k++) {
        const gm = g[Math.floor(k / per)];
        const guess = 0.9 * cond[k] + 0.2 * Math.cos(2 * xt[k] + (k % 5));
        eps[k] = Math.fround((xt[k] - gm * guess) / Math.sqrt(1 - gm * gm));
      }
      return { [outE]: { data: eps, dims: f[inX].dims } };
    },
  } as unknown as ModelPackage['denoiser'];
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

/** A scratch: a diagonal band in the top-left part only, so some tiles have no damaged pixel. */
const scratch = (w: number, h: number): Mask => {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (Math.abs(x - y) <= 1 && x < w / 2) m[y * w + x] = 255;
  return { width: w, height: h, data: m };
};

const sha = (img: Float32Array, s: string) => createHash('sha256').update(Buffer.from(img.buffer, img.byteOffset, img.byteLength)).update(s).digest('hex').slice(0, 24);

const base = { scale: 4, seed: 11, fidelity: 0.5, batch: 4 };
const cases: { name: string; lr: ImageF32; opts: DiffusionOptions }[] = [
  { name: 'skipdiff fixed-stride, 2 jumps', lr: picture(40, 36), opts: { ...base, sampler: 'skipdiff', repair: { mask: scratch(40, 36) } } },
  { name: 'ddpm:6, 3 jumps, batch 3', lr: picture(40, 36), opts: { ...base, sampler: 'ddpm:6', batch: 3, repair: { mask: scratch(40, 36), jumps: 3 } } },
  { name: 'ddim:5, 1 jump', lr: picture(40, 36), opts: { ...base, sampler: 'ddim:5', repair: { mask: scratch(40, 36), jumps: 1 } } },
  { name: 'csa k0.3, 2 jumps', lr: picture(40, 36), opts: { ...base, sampler: 'csa', fidelity: 0.3, repair: { mask: scratch(40, 36) } } },
  { name: 'x8 chained fixed:3', lr: picture(14, 12), opts: { ...base, scale: 8, sampler: 'fixed:3', repair: { mask: scratch(14, 12) } } },
  { name: 'skipdiff, 0 jumps', lr: picture(40, 36), opts: { ...base, sampler: 'skipdiff', repair: { mask: scratch(40, 36), jumps: 0 } } },
];

const GOLDEN: Record<string, string> = {
  'skipdiff fixed-stride, 2 jumps': 'f49ac00a26084afb534f7716',
  'ddpm:6, 3 jumps, batch 3': 'bdec24d2320bf9c311463eec',
  'ddim:5, 1 jump': '8dcee39ca251e6d2ae59388a',
  'csa k0.3, 2 jumps': 'b39fcb33067389010244f292',
  'x8 chained fixed:3': '7daa434043de63c3e5eb1292',
  'skipdiff, 0 jumps': '5a9cf42cd84d87fe57d0e20c',
};

beforeAll(async () => {
  const pkg = await loadModel(join(FIX, 'tiny-x4'), { threads: 1 });
  x4 = { ...pkg, denoiser: repairDenoiser(pkg), policy: null };
});

describe('engine golden outputs with damage repair (byte-identical for the same seed, knob and mask)', () => {
  it('repair jumps inside a pass: every sampler family, chained scales, jumps 0 … 3', async () => {
    const got: Record<string, string> = {};
    for (const c of cases) {
      const r = await restoreDiffusion(x4, c.lr, c.opts);
      got[c.name] = sha(r.image.data, JSON.stringify([r.info.calls, r.info.callsPerTile, r.info.onnxRuns, r.info.fineLevelsRunPerTile]));
    }
    if (process.env.GOLDEN_PRINT) console.log(JSON.stringify(got, null, 2));
    for (const c of cases) expect(`${c.name}: ${got[c.name]}`).toBe(`${c.name}: ${GOLDEN[c.name]}`);
  });

  it('jumps change the output only where tiles hold damage, and cost calls', async () => {
    const lr = picture(40, 36);
    const plain = await restoreDiffusion(x4, lr, { ...base, sampler: 'ddpm:6' });
    const fixed = await restoreDiffusion(x4, lr, { ...base, sampler: 'ddpm:6', repair: { mask: scratch(40, 36) } });
    expect(fixed.info.calls).toBeGreaterThan(plain.info.calls);
    let diff = 0;
    for (let i = 0; i < plain.image.data.length; i++) if (plain.image.data[i] !== fixed.image.data[i]) diff++;
    expect(diff).toBeGreaterThan(0);
    // The bottom-right corner (far from the scratch, in a tile without damage) is untouched.
    const W = plain.image.width;
    const H = plain.image.height;
    const o = ((H - 1) * W + (W - 1)) * 3;
    expect(fixed.image.data[o]).toBe(plain.image.data[o]);
  });
});
