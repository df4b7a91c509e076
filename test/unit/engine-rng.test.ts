/**
 * The engine's noise must not change (outputs are byte-identical for the same seed): pinned hashes
 * of the normal streams as fillNormal, normal() and fusedAxpbyNormal draw them, recorded before the
 * ziggurat loop was optimised, plus the contracts between the three.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/diffusion/rng';

const sha = (a: Float32Array | Float64Array) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 24);

describe('Rng normal streams', () => {
  it('fillNormal over many streams and lengths (tail and wedge paths included) is pinned', () => {
    const h = createHash('sha256');
    let slow = 0;
    for (let st = 0; st < 40; st++) {
      const r = new Rng(987654321 + st * 7919, st * 3);
      for (const n of [1, 7, 1000, 3 * 64 * 64]) {
        const a = r.fillNormal(new Float32Array(n));
        for (const v of a) if (Math.abs(v) > 3.442619855899) slow++;
        h.update(Buffer.from(a.buffer));
      }
    }
    expect(slow).toBeGreaterThan(100); // the tail beyond the ziggurat's last layer was drawn
    expect(h.digest('hex').slice(0, 24)).toBe('e40b1729a58c8433ccc0fc37');
  });

  it('normal() draws the same sequence as fillNormal', () => {
    const a = new Rng(5, 9).fillNormal(new Float32Array(50_000));
    const r = new Rng(5, 9);
    const b = Float32Array.from({ length: 50_000 }, () => r.normal());
    expect(sha(a)).toBe(sha(b));
    const d = new Float64Array(20_000);
    const r2 = new Rng(2 ** 40 + 3, 2 ** 24 + 1);
    for (let i = 0; i < d.length; i++) d[i] = r2.normal();
    expect(sha(d)).toBe('572f3c568063a86aa213e0c3');
  });

  it('fusedAxpbyNormal: x = a·y + b·x + c·z with z the fillNormal sequence, pinned', () => {
    const n = 3 * 128 * 128;
    const x = new Rng(1, 1).fillNormal(new Float32Array(n));
    const y = new Rng(1, 2).fillNormal(new Float32Array(n));
    const rz = new Rng(3, 4);
    const z = Float64Array.from({ length: 2 * n }, () => rz.normal()); // unrounded, as the fused step uses them
    const want = new Float32Array(n);
    const got = x.slice();
    const r = new Rng(3, 4);
    r.fusedAxpbyNormal(got, y, 0.31, 0.93, 0.17);
    for (let i = 0; i < n; i++) want[i] = 0.31 * y[i] + 0.93 * x[i] + 0.17 * z[i];
    expect(sha(got)).toBe(sha(want));
    // the stream continues where the fused step left it
    const next = r.fillNormal(new Float32Array(n));
    expect(sha(next)).toBe(sha(Float32Array.from(z.subarray(n))));
    expect(sha(got)).toBe('eab241a1f81e91c79199cd62');
  });
});
