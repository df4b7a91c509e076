/** Schedules, one-step maths and the RNG of the diffusion engine, against the training code's float64 numbers. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/diffusion/rng';
import { alphaBars, cosineAlphaBars, ddimStep, ddpmStep, gammaOf, linearAlphaBars, posteriorCoefs, x0FromEps } from '../../src/engine/diffusion/schedule';

const fx = JSON.parse(readFileSync(new URL('../fixtures/schedule/cosine.json', import.meta.url), 'utf8'));

function abOf(grid: string, k: number): number {
  if (k === -1) return 1;
  const K = Number(grid.replace(/^\D+/, ''));
  return alphaBars(grid.startsWith('cosine') ? 'cosine' : 'linear', K)[k];
}

describe('noise schedules', () => {
  it.each(['10', '100', '1000'])('cosine K=%s matches the training code', (K) => {
    const ref: number[] = fx.cosine[K];
    const ab = cosineAlphaBars(Number(K));
    expect(ab.length).toBe(ref.length);
    for (let k = 0; k < ref.length; k++) expect(ab[k]).toBeCloseTo(ref[k], 10);
  });

  it.each(['100', '1000'])('linear K=%s matches the training code', (K) => {
    const ref: number[] = fx.linear[K];
    const ab = linearAlphaBars(Number(K));
    for (let k = 0; k < ref.length; k++) expect(Math.abs(ab[k] - ref[k])).toBeLessThan(1e-10 + 1e-9 * ref[k]);
  });

  it('the 100-step ᾱ_9 equals the 10-step ᾱ_0 = 0.97209 (the CSA handoff at N = 10)', () => {
    const a100 = alphaBars('cosine', 100)[9];
    const a10 = alphaBars('cosine', 10)[0];
    expect(a100).toBeCloseTo(0.97209, 5);
    expect(Math.abs(a100 - a10)).toBeLessThan(1e-12);
    expect(a100).toBeCloseTo(fx.check.cosine100_alphaBar9, 12);
  });

  it('only the last β is clipped at 0.999; ᾱ decreases; γ = sqrt(ᾱ)', () => {
    for (const K of [7, 10, 100]) {
      const ab = cosineAlphaBars(K);
      for (let k = 1; k < K; k++) expect(ab[k]).toBeLessThan(ab[k - 1]);
      expect(ab[K - 1] / ab[K - 2]).toBeCloseTo(0.001, 12);
      expect(gammaOf(ab[3])).toBeCloseTo(Math.sqrt(ab[3]), 15);
    }
  });
});

describe('one step between two levels', () => {
  it('posterior coefficients match the fixture (incl. b = x₀)', () => {
    for (const c of fx.posterior) {
      const abA = abOf(c.grid, c.a);
      const abB = abOf(c.grid, c.b);
      expect(abA).toBeCloseTo(c.alphaBarA, 12);
      expect(abB).toBeCloseTo(c.alphaBarB, 12);
      const p = posteriorCoefs(abA, abB);
      expect(p.cX0).toBeCloseTo(c.cX0, 9);
      expect(p.cXa).toBeCloseTo(c.cXa, 9);
      expect(p.variance).toBeCloseTo(c.var, 9);
    }
  });

  it('refuses a step towards more noise', () => {
    expect(() => posteriorCoefs(0.9, 0.5)).toThrow(/less noisy/);
  });

  it('x̂₀ from ε (clipped) and the DDIM eta=0 step match the fixture', () => {
    for (const c of fx.ddim) {
      const abA = abOf(c.grid, c.a);
      const abB = abOf(c.grid, c.b);
      const xa = Float32Array.from(c.x_a as number[]);
      const eps = Float32Array.from(c.eps as number[]);
      const x0 = x0FromEps(xa, eps, abA, new Float32Array(xa.length));
      for (let i = 0; i < x0.length; i++) expect(x0[i]).toBeCloseTo(c.x0[i], 5);
      const x = xa.slice();
      ddimStep(x, x0, abA, abB, 0, null);
      for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(c.x_b[i], 5);
    }
  });

  it('the DDPM step uses the posterior mean and variance (moments over many draws)', () => {
    const abA = abOf('cosine100', 50);
    const abB = abOf('cosine100', 40);
    const { cX0, cXa, variance } = posteriorCoefs(abA, abB);
    const n = 100_000;
    const x = new Float32Array(n).fill(0.3);
    const x0 = new Float32Array(n).fill(-0.5);
    ddpmStep(x, x0, abA, abB, new Rng(5));
    let m = 0;
    let v = 0;
    for (const t of x) m += t;
    m /= n;
    for (const t of x) v += (t - m) ** 2;
    v /= n;
    expect(m).toBeCloseTo(cX0 * -0.5 + cXa * 0.3, 2);
    expect(v / variance).toBeGreaterThan(0.98);
    expect(v / variance).toBeLessThan(1.02);
  });

  it('a step to x₀ returns x̂₀; DDIM eta = 1 has the posterior variance', () => {
    const x = Float32Array.from([0.1, 0.2]);
    ddpmStep(x, Float32Array.from([0.7, -0.7]), 0.5, 1, new Rng(1));
    expect(Array.from(x)).toEqual([Math.fround(0.7), Math.fround(-0.7)]);
    const n = 50_000;
    const y = new Float32Array(n).fill(0.2);
    ddimStep(y, new Float32Array(n).fill(0.1), 0.3, 0.6, 1, new Rng(2));
    let m = 0;
    for (const t of y) m += t;
    m /= n;
    let v = 0;
    for (const t of y) v += (t - m) ** 2;
    expect(v / n / posteriorCoefs(0.3, 0.6).variance).toBeCloseTo(1, 1);
  });
});

describe('seeded RNG', () => {
  it('same (seed, stream) → same numbers; other streams and seeds differ', () => {
    const a = new Rng(42, 3).fillNormal(new Float32Array(1000));
    const b = new Rng(42, 3).fillNormal(new Float32Array(1000));
    const c = new Rng(42, 4).fillNormal(new Float32Array(1000));
    const d = new Rng(43, 3).fillNormal(new Float32Array(1000));
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    let same = 0;
    for (let i = 0; i < 1000; i++) same += +(a[i] === c[i]) + +(a[i] === d[i]);
    expect(same).toBe(0);
  });

  it('normals have mean 0, variance 1, normal tails and kurtosis', () => {
    const n = 400_000;
    const z = new Rng(7).fillNormal(new Float32Array(n));
    let m = 0;
    for (const t of z) m += t;
    m /= n;
    let v = 0;
    let k = 0;
    let tail = 0;
    for (const t of z) {
      v += (t - m) ** 2;
      k += (t - m) ** 4;
      if (Math.abs(t) > 3) tail++;
    }
    v /= n;
    k = k / n / (v * v);
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(v).toBeGreaterThan(0.99);
    expect(v).toBeLessThan(1.01);
    expect(k).toBeGreaterThan(2.95);
    expect(k).toBeLessThan(3.05);
    expect(tail / n).toBeGreaterThan(0.0027 * 0.85); // P(|z|>3) = 0.0027
    expect(tail / n).toBeLessThan(0.0027 * 1.15);
    // Successive values are uncorrelated.
    let r = 0;
    for (let i = 1; i < n; i++) r += z[i] * z[i - 1];
    expect(Math.abs(r / n)).toBeLessThan(0.01);
  });

  it('uniforms stay in (0, 1) with the right mean', () => {
    const r = new Rng(1, 1);
    let s = 0;
    let out = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = r.uniform();
      if (!(u > 0 && u < 1)) out++;
      s += u;
    }
    expect(out).toBe(0);
    expect(s / 100_000).toBeCloseTo(0.5, 2);
  });
});
