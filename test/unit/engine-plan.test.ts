/** Sampler plans and sampler functions over a fake (deterministic, pure-JS) model. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelCard, fixedStrideCallsAt, knobToN } from '../../src/shared/card';
import { coarseIndicesAbove, estimateCalls, fixedStrideLevels, parseSampler, splitFor } from '../../src/engine/diffusion/plan';
import { Rng } from '../../src/engine/diffusion/rng';
import { fixedDecider, makeLane, policyDecider, resetLane, sampleCoarse, sampleCsa, sampleDdim, sampleDdpm, sampleFsr, type SamplerCtx } from '../../src/engine/diffusion/samplers';
import { alphaBars } from '../../src/engine/diffusion/schedule';

const card = ModelCard.parse(JSON.parse(readFileSync(new URL('../fixtures/models/tiny-x4/card.json', import.meta.url), 'utf8')));
const cab = alphaBars('cosine', 10);
const fab = alphaBars('cosine', 100);

/** A deterministic stand-in for the denoiser: ε depends on x and ᾱ only (per lane, no batching effects). */
function fakeCtx(lanes: number, size = 48, seed = 1, stream0 = 0): SamplerCtx & { log: { members: number[]; ab: number }[] } {
  const ls = Array.from({ length: lanes }, (_, i) => makeLane(size, new Rng(seed, stream0 + i)));
  const log: { members: number[]; ab: number }[] = [];
  const ctx = {
    lanes: ls,
    log,
    model: async (members: readonly number[], ab: number) => {
      log.push({ members: [...members], ab });
      for (const m of members) {
        const l = ls[m];
        for (let i = 0; i < size; i++) l.eps[i] = Math.sin(3 * l.x[i] + i * 0.1) * Math.sqrt(1 - ab) + 0.3 * l.x[i];
      }
    },
  };
  return ctx;
}

describe('sampler names and the knob', () => {
  it('parses sampler names and rejects bad ones', () => {
    expect(parseSampler('skipdiff')).toEqual({ kind: 'skipdiff' });
    expect(parseSampler('ddpm:25')).toEqual({ kind: 'ddpm', steps: 25 });
    expect(parseSampler('ddim:50')).toEqual({ kind: 'ddim', steps: 50, eta: 0 });
    expect(parseSampler('ddim:50:0.5')).toEqual({ kind: 'ddim', steps: 50, eta: 0.5 });
    expect(parseSampler('fixed:7')).toEqual({ kind: 'fixed', calls: 7 });
    for (const bad of ['ddpm', 'ddpm:0', 'euler:3', 'fixed:3:1', 'ddim:5:2']) expect(() => parseSampler(bad)).toThrow();
  });

  it('knob → N is monotone, and so is the number of fine levels run', () => {
    let prevN = 0;
    let prevFine = 0;
    for (let k = 0; k <= 1.0001; k += 0.02) {
      const N = splitFor(card, k);
      expect(N).toBe(knobToN(card, k));
      expect(N).toBeGreaterThanOrEqual(prevN);
      const fine = fixedStrideLevels(N, card.sampler.fixedStrideCalls).length;
      expect(fine).toBeGreaterThanOrEqual(prevFine);
      prevN = N;
      prevFine = fine;
    }
    expect(splitFor(card, 0)).toBe(2);
    expect(splitFor(card, 0.5)).toBe(10);
    expect(splitFor(card, 1)).toBe(40);
  });
});

describe('CSA → FSR handoff', () => {
  it('coarse levels strictly above τ_N; N = 10 hands over after 9 calls (reference code)', () => {
    expect(coarseIndicesAbove(10, 100, 10)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(coarseIndicesAbove(10, 100, 2)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(coarseIndicesAbove(10, 100, 25)).toEqual([9, 8, 7, 6, 5, 4, 3, 2]); // τ=0.3 then a short jump to 0.25
    expect(coarseIndicesAbove(10, 100, 40)).toEqual([9, 8, 7, 6, 5, 4]);
    expect(coarseIndicesAbove(10, 100, 100)).toEqual([]);
    // every coarse level run is noisier than the handoff level
    for (const N of [1, 9, 10, 11, 55, 99]) for (const k of coarseIndicesAbove(10, 100, N)) expect(cab[k]).toBeLessThan(fab[N - 1]);
  });

  it('fixed-stride rule: F levels evenly from N down to 1, both ends included', () => {
    expect(fixedStrideLevels(10, 10)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(fixedStrideLevels(2, 10)).toEqual([2, 1]);
    expect(fixedStrideLevels(40, 10)).toEqual([40, 36, 31, 27, 23, 18, 14, 10, 5, 1]);
    expect(fixedStrideLevels(10, 4)).toEqual([10, 7, 4, 1]);
    expect(fixedStrideLevels(10, 1)).toEqual([1]);
    for (const N of [3, 17, 40, 100])
      for (const F of [2, 3, 5, 10]) {
        const l = fixedStrideLevels(N, F);
        expect(l.length).toBe(Math.min(N, F));
        expect(l[0]).toBe(N);
        expect(l[l.length - 1]).toBe(1);
        const gaps = l.slice(1).map((v, i) => l[i] - v);
        expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1);
        expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1);
      }
  });

  it('estimateCalls per sampler', () => {
    expect(estimateCalls(card, 'ddpm:30', 0.5)).toBe(30);
    expect(estimateCalls(card, 'csa', 0.5)).toBe(10);
    expect(estimateCalls(card, 'fixed:4', 0.5)).toBe(9 + 4);
    expect(estimateCalls(card, 'skipdiff', 0.5)).toBe(9 + 10); // with a policy: upper bound C(N) + N
    expect(estimateCalls(card, 'skipdiff', 1)).toBe(6 + 40);
    const noPolicy = { ...card, files: { denoiser: 'denoiser.onnx' } };
    expect(estimateCalls(noPolicy, 'skipdiff', 1)).toBe(6 + 10);
    expect(estimateCalls(noPolicy, 'skipdiff', 0)).toBe(10 + 2);
    // fixedStrideCallsPerN 0.5: N = 40 gets 20 fine calls, so total calls rise with the knob (12, 19, 26)
    const perN = { ...noPolicy, sampler: { ...card.sampler, fixedStrideCallsPerN: 0.5 } };
    expect([0, 0.5, 1].map((k) => estimateCalls(perN, 'skipdiff', k))).toEqual([10 + 2, 9 + 10, 6 + 20]);
    expect([0, 0.5, 1].map((k) => estimateCalls(noPolicy, 'skipdiff', k))).toEqual([12, 19, 16]); // without it: 16 < 19
  });

  it('fixedStrideCallsAt: the card count, at least perN × N, never above N', () => {
    expect(fixedStrideCallsAt({ fixedStrideCalls: 10 }, 40)).toBe(10);
    expect(fixedStrideCallsAt({ fixedStrideCalls: 10 }, 4)).toBe(4);
    expect(fixedStrideCallsAt({ fixedStrideCalls: 10, fixedStrideCallsPerN: 0.5 }, 40)).toBe(20);
    expect(fixedStrideCallsAt({ fixedStrideCalls: 10, fixedStrideCallsPerN: 0.5 }, 10)).toBe(10);
    expect(fixedStrideCallsAt({ fixedStrideCalls: 10, fixedStrideCallsPerN: 1 }, 30)).toBe(30);
    expect(() => ModelCard.parse({ ...card, sampler: { ...card.sampler, fixedStrideCallsPerN: 2 } })).toThrow();
  });
});

describe('sampler functions (fake model)', () => {
  it('DDIM eta = 0 is deterministic given the start noise, and uses no randomness after it', async () => {
    const levels = [...Array.from(alphaBars('cosine', 8)).reverse(), 1];
    const run = async (stepSeed: number) => {
      const ctx = fakeCtx(2);
      ctx.lanes.forEach((l, i) => resetLane(l, new Rng(9, i), levels[0]));
      ctx.lanes.forEach((l) => (l.rng = new Rng(stepSeed))); // different RNG for the steps: must not matter
      await sampleDdim(ctx, levels, 0);
      return ctx;
    };
    const a = await run(1);
    const b = await run(2);
    expect(Array.from(a.lanes[0].x0)).toEqual(Array.from(b.lanes[0].x0));
    expect(a.lanes[0].calls).toBe(8);
    expect(a.log.map((e) => e.ab)).toEqual(levels.slice(0, -1));
    // DDPM with different step noise differs
    const ctx1 = fakeCtx(1);
    const ctx2 = fakeCtx(1);
    resetLane(ctx1.lanes[0], new Rng(9), levels[0]);
    resetLane(ctx2.lanes[0], new Rng(9), levels[0]);
    ctx2.lanes[0].rng = new Rng(77);
    await sampleDdpm(ctx1, levels);
    await sampleDdpm(ctx2, levels);
    expect(Array.from(ctx1.lanes[0].x0)).not.toEqual(Array.from(ctx2.lanes[0].x0));
  });

  it('a skipped level is one larger step: FSR with skips == ancestral DDPM over the run levels', async () => {
    const N = 10;
    const coarse = coarseIndicesAbove(10, 100, N).map((k) => cab[k]);
    for (const run of [
      [10, 7, 3, 1],
      [8, 5, 1], // level N itself skipped: CSA's last coarse step jumps straight to level 8
      [1],
    ]) {
      const a = fakeCtx(1, 48, 3);
      resetLane(a.lanes[0], new Rng(3, 0), coarse[0]);
      await sampleCoarse(a, coarse);
      await sampleFsr(a, fab, N, fixedDecider(run));
      const b = fakeCtx(1, 48, 3);
      resetLane(b.lanes[0], new Rng(3, 0), coarse[0]);
      await sampleDdpm(b, [...coarse, ...run.map((n) => fab[n - 1]), 1]);
      expect(Array.from(a.lanes[0].x0)).toEqual(Array.from(b.lanes[0].x0));
      expect(a.lanes[0].fineLevels).toEqual(run);
      expect(a.lanes[0].calls).toBe(coarse.length + run.length);
    }
  });

  it('a decider answering for the wrong number of lanes is an error', async () => {
    const a = fakeCtx(2);
    a.lanes.forEach((l, i) => resetLane(l, new Rng(1, i), fab[99]));
    await expect(sampleFsr(a, fab, 100, () => [true])).rejects.toThrow(/wrong number/);
  });

  it('a decider that always skips still runs level N (when forced) and level 1', async () => {
    const a = fakeCtx(2);
    a.lanes.forEach((l, i) => resetLane(l, new Rng(1, i), fab[99]));
    await sampleFsr(a, fab, 100, (_lvl, members) => members.map(() => false));
    expect(a.lanes[0].fineLevels).toEqual([100, 1]);
    const b = fakeCtx(1);
    resetLane(b.lanes[0], new Rng(1, 0), cab[9]);
    await sampleCoarse(b, [cab[9], cab[8]]);
    await sampleFsr(b, fab, 80, (_lvl, members) => members.map(() => false));
    expect(b.lanes[0].fineLevels).toEqual([1]);
  });

  it('csa returns x̂₀ from one call at τ_N after the coarse walk', async () => {
    const coarse = coarseIndicesAbove(10, 100, 25).map((k) => cab[k]);
    const a = fakeCtx(1);
    resetLane(a.lanes[0], new Rng(1), coarse[0]);
    await sampleCsa(a, coarse, fab[24]);
    expect(a.log.map((e) => e.ab)).toEqual([...coarse, fab[24]]);
    expect(a.lanes[0].calls).toBe(9);
  });

  it('lanes are independent of batching: 3 lanes together == each lane alone', async () => {
    const coarse = coarseIndicesAbove(10, 100, 10).map((k) => cab[k]);
    const together = fakeCtx(3, 48, 5);
    together.lanes.forEach((l, i) => resetLane(l, new Rng(5, i), coarse[0]));
    await sampleCoarse(together, coarse);
    await sampleFsr(together, fab, 10, (lvl, members) => members.map((m) => (lvl + m) % 3 === 0));
    for (let i = 0; i < 3; i++) {
      const alone = fakeCtx(1, 48, 5, i);
      resetLane(alone.lanes[0], new Rng(5, i), coarse[0]);
      await sampleCoarse(alone, coarse);
      await sampleFsr(alone, fab, 10, (lvl, members) => members.map(() => (lvl + i) % 3 === 0));
      expect(Array.from(alone.lanes[0].x0)).toEqual(Array.from(together.lanes[i].x0));
      expect(alone.lanes[0].fineLevels).toEqual(together.lanes[i].fineLevels);
    }
    // lanes that decide alike share one batched call
    expect(together.log.some((e) => e.members.length > 1)).toBe(true);
  });

  it('policy decider: greedy p ≥ 0.5, t_feat as specified, GRU state threaded per lane', async () => {
    const hidden = 4;
    const seenH: number[][] = [];
    // Fake policy: h_out = h + 1 (per lane); p = 0.9 on odd levels, 0.2 on even levels.
    const policy = async (x: Float32Array, t: Float32Array, h: Float32Array, b: number) => {
      const p = new Float32Array(b);
      const hOut = new Float32Array(b * hidden);
      for (let i = 0; i < b; i++) {
        seenH.push(Array.from(h.subarray(i * hidden, (i + 1) * hidden)));
        const level = Math.round(t[i * 3] * 100);
        p[i] = level % 2 ? 0.9 : 0.2;
        for (let j = 0; j < hidden; j++) hOut[i * hidden + j] = h[i * hidden + j] + 1;
      }
      return { p, hOut };
    };
    const trace: { level: number; lane: number; p: number; tFeat: number[] }[] = [];
    const dec = policyDecider({ policy, imageSize: 4, hidden, fineSteps: 100, N: 6, lanes: 2, resize: (x0, o) => o.set(x0.subarray(0, o.length)), trace });
    const coarse = coarseIndicesAbove(10, 100, 6).map((k) => cab[k]);
    const a = fakeCtx(2);
    a.lanes.forEach((l, i) => resetLane(l, new Rng(1, i), coarse[0]));
    await sampleCoarse(a, coarse);
    await sampleFsr(a, fab, 6, dec);
    expect(a.lanes[0].fineLevels).toEqual([5, 3, 1]);
    // consulted at levels 6..2 (level 1 forced), 2 lanes each; the state grows by 1 per decision
    expect(trace.map((t) => t.level)).toEqual([6, 6, 5, 5, 4, 4, 3, 3, 2, 2]);
    expect(seenH.map((h) => h[0])).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(Array.from(dec.state(1))).toEqual([5, 5, 5, 5]);
    // t_feat = [level/T_f, fine calls so far/T_f, N/T_f]
    const at3 = trace.find((t) => t.level === 3)!;
    expect(at3.tFeat[0]).toBeCloseTo(0.03, 6);
    expect(at3.tFeat[1]).toBeCloseTo(0.01, 6); // level 5 ran
    expect(at3.tFeat[2]).toBeCloseTo(0.06, 6);
  });
});

describe('scales a card can reach (what the app offers and auto uses)', () => {
  it('served scales, ×primary passes, and ×primary then a downscale; nothing else', async () => {
    const { reachableScales, canReach } = await import('../../src/shared/card');
    const x4 = { id: 'x4', scales: [4], primaryScale: 4 };
    expect(reachableScales(x4)).toEqual([2, 4, 8]);
    expect(canReach(x4, 3)).toBe(false);
    expect(canReach(x4, 16)).toBe(true);
    const x8 = { id: 'face', scales: [8], primaryScale: 8 };
    expect(reachableScales(x8)).toEqual([2, 4, 8]);
    const x3 = { id: 'odd', scales: [3], primaryScale: 3 };
    expect(reachableScales(x3)).toEqual([]);
  });
});
