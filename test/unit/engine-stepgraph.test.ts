/**
 * The fused step graph (src/engine/diffusion/stepgraph.ts, step.ts) on onnxruntime's CPU provider:
 * the graph itself (valid ONNX, the move and x̂₀ against the JS maths, the device noise against its
 * JS reference), the device generator's statistics, and whole restores with step 'device' /
 * 'device-noise' against the JS step. The WebGPU (SwiftShader) side is test/integration/gpu-step.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, restoreDiffusion, type ModelPackage } from '../../src/engine/diffusion/index';
import { Rng } from '../../src/engine/diffusion/rng';
import { ddimMove, ddpmMove } from '../../src/engine/diffusion/samplers';
import { x0FromEps } from '../../src/engine/diffusion/schedule';
import { resolveStep } from '../../src/engine/diffusion/step';
import { buildStepGraph, COEF, deviceHash, deviceNoiseKey, deviceNoiseRef, STEP_IO } from '../../src/engine/diffusion/stepgraph';

const TINY = new URL('../fixtures/models/tiny-x4/', import.meta.url).pathname;
const card = JSON.parse(readFileSync(join(TINY, 'card.json'), 'utf8'));
const bytes = readFileSync(join(TINY, 'denoiser.onnx'));
const io = card.io.denoiser;

/** Tolerance of the fused step vs the JS step on the same provider (float32 vs float64 step arithmetic). */
const STEP_TOL = 1e-5;

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('device noise generator (JS reference)', () => {
  const n = 3 * 128 * 128;
  const sig = 1 / Math.sqrt(n);
  const corr = (a: Float64Array, b: Float64Array, lag = 0) => {
    let s = 0;
    for (let i = 0; i + lag < a.length; i++) s += a[i] * b[i + lag];
    return s / (a.length - lag);
  };

  it('the hash is a bijection of the element index for a fixed key', () => {
    const k = deviceNoiseKey(1, 2, 3);
    const seen = new Set<number>();
    for (let c = 0; c < 1 << 17; c++) seen.add(deviceHash(c, k));
    expect(seen.size).toBe(1 << 17);
  });

  it('normals: moments, KS, no correlation along the tile, across moves, tiles and seeds', () => {
    const keys = Array.from({ length: 8 }, (_, t) => deviceNoiseKey(7, t, 0));
    const zs = keys.map((k) => deviceNoiseRef(k, n));
    // moments over all 8 × 49152 draws
    let s1 = 0;
    let s2 = 0;
    let s4 = 0;
    for (const z of zs) for (const v of z) (s1 += v), (s2 += v * v), (s4 += v ** 4);
    const N = zs.length * n;
    expect(Math.abs(s1 / N)).toBeLessThan(4 / Math.sqrt(N));
    expect(Math.abs(s2 / N - 1)).toBeLessThan(4 * Math.sqrt(2 / N));
    expect(Math.abs(s4 / N / (s2 / N) ** 2 - 3)).toBeLessThan(0.05);
    // Kolmogorov–Smirnov against N(0, 1)
    const all = new Float64Array(N);
    zs.forEach((z, i) => all.set(z, i * n));
    all.sort();
    const erf = (x: number) => {
      const t = 1 / (1 + 0.3275911 * Math.abs(x));
      const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
      return x >= 0 ? y : -y;
    };
    let D = 0;
    for (let i = 0; i < N; i += 3) D = Math.max(D, Math.abs(0.5 * (1 + erf(all[i] / Math.SQRT2)) - i / N));
    expect(D).toBeLessThan(1.63 / Math.sqrt(N) + 2e-6); // 1 % critical value (+ the erf approximation's 1.5e-7)
    // lag correlations in one tile (neighbours in x, y, channel; the Box–Muller halves), of z and z²−1
    for (const z of zs.slice(0, 3)) {
      const sq = z.map((v) => v * v - 1);
      for (const L of [1, 2, 3, 127, 128, 129, 128 * 128, n / 2 - 1, n / 2, n / 2 + 1]) {
        expect(Math.abs(corr(z, z, L))).toBeLessThan(5 * sig);
        expect(Math.abs(corr(sq, sq, L)) / 2).toBeLessThan(5 * sig);
      }
    }
    // independent across tiles (streams), moves and seeds
    const next = deviceNoiseRef(deviceNoiseKey(7, 0, 1), n);
    const seed8 = deviceNoiseRef(deviceNoiseKey(8, 0, 0), n);
    for (const [a, b] of [
      [zs[0], zs[1]],
      [zs[0], next],
      [zs[0], seed8],
      [zs[3], zs[4]],
    ]) {
      expect(Math.abs(corr(a, b))).toBeLessThan(5 * sig);
      expect(Math.abs(corr(a, b, 1))).toBeLessThan(5 * sig);
    }
  });
});

describe('step graph on the CPU provider', () => {
  const B = 2;
  const H = 32;
  const W = 48;
  const chw = 3 * H * W;
  let den: ort.InferenceSession;
  let host: ort.InferenceSession;
  let dev: ort.InferenceSession;
  const x = new Float32Array(B * chw);
  const x0 = new Float32Array(B * chw);
  const cond = new Float32Array(B * chw);
  const z = new Float32Array(B * chw);
  beforeAll(async () => {
    const o = { intraOpNumThreads: 1, executionProviders: ['cpu'] };
    den = await ort.InferenceSession.create(join(TINY, 'denoiser.onnx'), o);
    host = await ort.InferenceSession.create(buildStepGraph(bytes, io, 'host'), o);
    dev = await ort.InferenceSession.create(buildStepGraph(bytes, io, 'device'), o);
    const r = new Rng(5, 1);
    r.fillNormal(x);
    r.fillNormal(z);
    for (let i = 0; i < x0.length; i++) x0[i] = Math.tanh(z[(i * 7) % z.length]);
    for (let i = 0; i < cond.length; i++) cond[i] = Math.sin(i * 0.01);
  });
  const img = (a: Float32Array) => new ort.Tensor('float32', a, [B, 3, H, W]);
  const feeds = (coefs: number[][], ab: number[], noise: Record<string, ort.Tensor>) => ({
    [STEP_IO.x]: img(x),
    [STEP_IO.x0]: img(x0),
    cond: img(cond),
    gamma: new ort.Tensor('float32', Float32Array.from(ab.map(Math.sqrt)), [B]),
    [STEP_IO.coef]: new ort.Tensor('float32', Float32Array.from(coefs.flat()), [B, COEF.count, 1, 1]),
    ...noise,
  });
  const ab = [0.3, 0.7];
  const x0c = (b: number) => [1 / Math.sqrt(ab[b]), Math.sqrt(1 - ab[b]) / Math.sqrt(ab[b])];

  it('is valid ONNX (onnx.checker with shape inference), inputs and outputs as documented', () => {
    expect([...host.inputNames].sort()).toEqual(['cond', 'gamma', STEP_IO.coef, STEP_IO.x, STEP_IO.x0, STEP_IO.z].sort());
    expect([...dev.inputNames].sort()).toEqual(['cond', 'gamma', STEP_IO.coef, STEP_IO.key, STEP_IO.x, STEP_IO.x0].sort());
    expect([...host.outputNames].sort()).toEqual(['x_t', STEP_IO.x0Out].sort());
    let py = true;
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' });
    } catch {
      py = false;
    }
    if (!py) return console.warn('python3 with onnx missing: onnx.checker not run');
    const dir = mkdtempSync(join(tmpdir(), 'stepgraph-'));
    for (const k of ['host', 'device'] as const) writeFileSync(join(dir, `${k}.onnx`), buildStepGraph(bytes, io, k));
    const out = execFileSync('/usr/bin/python3', ['-c', `import onnx,sys\nfor k in ('host','device'):\n  onnx.checker.check_model(onnx.load(sys.argv[1]+'/'+k+'.onnx'), full_check=True)\nprint('ok')`, dir]).toString();
    expect(out.trim()).toBe('ok');
  });

  it('identity move: x_t is x bit for bit; x̂₀ = clip((x − √(1−ᾱ)ε)/√ᾱ) of the denoiser within 1e-6', async () => {
    const coefs = [0, 1].map((b) => [0, 1, 0, ...x0c(b)]);
    const r = await host.run(feeds(coefs, ab, { [STEP_IO.z]: img(z) }));
    expect(Buffer.compare(Buffer.from((r.x_t.data as Float32Array).buffer), Buffer.from(x.buffer))).toBe(0);
    const e = await den.run({ x_t: img(x), cond: img(cond), gamma: new ort.Tensor('float32', Float32Array.from(ab.map(Math.sqrt)), [B]) });
    const eps = e.eps.data as Float32Array;
    const want = new Float32Array(B * chw);
    for (let b = 0; b < B; b++) x0FromEps(x.subarray(b * chw, (b + 1) * chw), eps.subarray(b * chw, (b + 1) * chw), ab[b], want.subarray(b * chw, (b + 1) * chw));
    expect(maxAbs(r[STEP_IO.x0Out].data as Float32Array, want)).toBeLessThan(1e-6);
  });

  it('a move: x_t = c0·x̂₀ + c1·x + σ·z (ancestral and DDIM coefficients) within 1e-6', async () => {
    const mv = [ddpmMove(0.1, ab[0]), ddimMove(0.2, ab[1], 0.5)];
    const coefs = mv.map((m, b) => [m.c0, m.c1, m.sigma, ...x0c(b)]);
    const r = await host.run(feeds(coefs, ab, { [STEP_IO.z]: img(z) }));
    const got = r.x_t.data as Float32Array;
    const want = got.map((_, i) => {
      const m = mv[Math.floor(i / chw)];
      return m.c0 * x0[i] + m.c1 * x[i] + m.sigma * z[i];
    });
    expect(maxAbs(got, want)).toBeLessThan(1e-6);
  });

  it('device noise: the graph draws the JS reference generator (within 1e-6), one stream per lane', async () => {
    const keys = [deviceNoiseKey(3, 10, 0), deviceNoiseKey(3, 11, 4)];
    const coefs = [0, 1].map((b) => [0, 0, 1, ...x0c(b)]);
    const r = await dev.run(feeds(coefs, ab, { [STEP_IO.key]: new ort.Tensor('uint32', Uint32Array.from(keys.flat()), [B, 3]) }));
    const got = r.x_t.data as Float32Array;
    for (let b = 0; b < B; b++) expect(maxAbs(got.subarray(b * chw, (b + 1) * chw), deviceNoiseRef(keys[b], chw))).toBeLessThan(1e-6);
    expect(maxAbs(got.subarray(0, chw), got.subarray(chw))).toBeGreaterThan(1);
  });

  it('refuses graphs that are not the denoiser contract', () => {
    expect(() => buildStepGraph(bytes, { inputs: ['x', 'cond', 'gamma'], outputs: ['eps'] }, 'host')).toThrow(/no input "x"/);
    expect(() => buildStepGraph(bytes, { inputs: ['x_t', 'cond', 'gamma', 'mask'], outputs: ['eps'] }, 'host')).toThrow(/must have inputs/);
    expect(() => buildStepGraph(bytes.subarray(0, 1000), io, 'host')).toThrow();
  });
});

describe('restores with the fused step (tiny-x4, CPU provider)', () => {
  let m: ModelPackage;
  const lr = { width: 24, height: 16, data: new Float32Array(24 * 16 * 3).map((_, i) => 0.5 + 0.4 * Math.sin(i * 0.37) * Math.cos(i * 0.011)) };
  beforeAll(async () => {
    m = await loadModel(TINY, { threads: 1 });
  });
  const run = (sampler: string, step: 'js' | 'device' | 'device-noise' | 'auto' | undefined, batch = 4, seed = 3) => restoreDiffusion(m, lr, { scale: 4, sampler, fidelity: 0.5, seed, batch, ...(step ? { step } : {}) });

  it('step device = step js within 1e-5 for every sampler (policy included); same calls and paths', async () => {
    for (const sampler of ['ddpm:4', 'ddim:3', 'ddim:3:1', 'csa', 'fixed:3', 'skipdiff']) {
      const a = await run(sampler, 'js');
      const b = await run(sampler, 'device');
      expect(b.info.step).toBe('device');
      expect(b.info.calls).toBe(a.info.calls);
      expect(b.info.fineLevelsRunPerTile).toEqual(a.info.fineLevelsRunPerTile);
      const d = maxAbs(a.image.data, b.image.data);
      console.info(`${sampler}: device vs js max |Δ| ${d.toExponential(2)}`);
      expect(d).toBeLessThan(STEP_TOL);
    }
  });

  it('auto on the CPU provider is the JS step (same bytes as before); device-noise is deterministic and its own sample', async () => {
    const js = await run('ddpm:4', 'js');
    const auto = await run('ddpm:4', undefined);
    expect(auto.info.step).toBe('js');
    expect(auto.info.stepReason).toMatch(/cpu provider/);
    expect(Buffer.compare(Buffer.from(auto.image.data.buffer), Buffer.from(js.image.data.buffer))).toBe(0);
    const n1 = await run('ddpm:4', 'device-noise');
    const n2 = await run('ddpm:4', 'device-noise');
    const n3 = await run('ddpm:4', 'device-noise', 1);
    const other = await run('ddpm:4', 'device-noise', 4, 4);
    expect(n1.info.step).toBe('device-noise');
    expect(Buffer.compare(Buffer.from(n1.image.data.buffer), Buffer.from(n2.image.data.buffer))).toBe(0);
    expect(maxAbs(n1.image.data, n3.image.data)).toBeLessThan(STEP_TOL); // batch-independent (per-tile keys)
    expect(maxAbs(n1.image.data, js.image.data)).toBeGreaterThan(0.05); // other noise
    expect(maxAbs(n1.image.data, other.image.data)).toBeGreaterThan(0.05); // the seed counts
    // DDIM eta = 0 draws no noise after the start: device-noise = js there (up to rounding)
    expect(maxAbs((await run('ddim:3', 'device-noise')).image.data, (await run('ddim:3', 'js')).image.data)).toBeLessThan(STEP_TOL);
  });

  it('resolveStep: auto is device on a GPU provider, js with repair or another denoiser contract; explicit device + repair throws', () => {
    const gpu = { ...m, providers: ['webgpu'] } as ModelPackage;
    expect(resolveStep('auto', gpu, false)).toEqual({ mode: 'device', reason: 'auto: webgpu provider' });
    expect(resolveStep('auto', gpu, true).mode).toBe('js');
    expect(resolveStep('auto', { ...gpu, card: { ...gpu.card, io: { ...gpu.card.io, denoiser: { inputs: ['x_t', 'cond', 'gamma', 'mask'], outputs: ['eps'] } } } } as unknown as ModelPackage, false).mode).toBe('js');
    expect(() => resolveStep('device', gpu, true)).toThrow(/repair/);
    expect(() => resolveStep('fast' as 'js', gpu, false)).toThrow(/step must be one of/);
  });
});
