import { describe, expect, it } from 'vitest';
import { median } from '../../src/engine/stats';
import { robustStats } from '../../src/engine/damage/detect';
import { Rng } from '../../src/engine/diffusion/rng';

describe('median (the one copy: providers, damage detector, bench)', () => {
  it('odd, even (mean of the middle two, or the upper one), empty, unsorted input left alone', () => {
    const xs = [5, 1, 4, 2];
    expect(median([3, 1, 2])).toBe(2);
    expect(median(xs)).toBe(3);
    expect(median(xs, 'upper')).toBe(4);
    expect(median(Float32Array.of(0.5, -1, 2, 7, 3))).toBe(2);
    expect(median([])).toBeNaN();
    expect(xs).toEqual([5, 1, 4, 2]);
  });

  it("robustStats: the upper median of the sample and 1.4826 × the upper median of |x − median|", () => {
    const rng = new Rng(3);
    const v = Float32Array.from({ length: 1001 }, () => rng.normal());
    const s = Array.from(v.filter((_, i) => i % 2 === 0)).sort((a, b) => a - b);
    const med = s[s.length >> 1];
    const dev = s.map((x) => Math.abs(x - med)).sort((a, b) => a - b);
    expect(robustStats(v, 2)).toEqual({ median: med, sigma: 1.4826 * dev[dev.length >> 1] });
    expect(robustStats(new Float32Array(0))).toEqual({ median: 0, sigma: 0 });
  });
});
