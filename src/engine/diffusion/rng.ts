/**
 * The engine's own seeded random numbers (never Math.random).
 *
 * - Generator: xoshiro128** (Blackman & Vigna), 32-bit arithmetic only, so it is fast in JS and
 *   bit-exact on every platform.
 * - Seeding: a (seed, stream) pair is hashed (murmur3 fmix32 over both 32-bit halves of the seed
 *   and the stream number) into the 128-bit state. Each image tile gets its own stream
 *   (`stream = tile index`, plus a pass number for multi-pass scales), so a tile's noise does not
 *   depend on how tiles are batched or in what order they are processed.
 * - Normals: Marsaglia & Tsang's ziggurat (128 layers). One 32-bit word per draw: its low 7 bits
 *   pick the layer and its high 25 bits (signed) the position, so index and value come from
 *   disjoint bits (avoiding the index/value correlation of the original RNOR, Doornik 2005). No
 *   trig, one table lookup and one multiply in ~98.8% of draws; `fillNormal` runs the generator
 *   with its state in locals, so a 128×128×3 noise tensor costs well under a millisecond.
 */

/** MurmurHash3's 32-bit finaliser (also the fused step's key hash, stepgraph.ts). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---- ziggurat tables (computed once, deterministic: Math.exp/log/sqrt are fdlibm ports in V8)
const ZN = 128;
const ZR = 3.442619855899;
const kn = new Int32Array(ZN);
const wn = new Float64Array(ZN);
const fn = new Float64Array(ZN);
(function initZiggurat() {
  const m1 = 16777216.0; // 2^24: the value is a signed 25-bit integer
  const vn = 9.91256303526217e-3;
  let dn = ZR;
  let tn = dn;
  const q = vn / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * m1);
  kn[1] = 0;
  wn[0] = q / m1;
  wn[ZN - 1] = dn / m1;
  fn[0] = 1.0;
  fn[ZN - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = ZN - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * m1);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / m1;
  }
})();

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed`: any integer in [0, 2^53); `stream`: e.g. the tile index. */
  constructor(seed: number, stream = 0) {
    if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) throw new RangeError(`seed must be an integer in [0, 2^53): ${seed}`);
    if (!Number.isInteger(stream) || stream < 0) throw new RangeError(`stream must be a non-negative integer: ${stream}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    const st = stream >>> 0;
    const sh = Math.floor(stream / 4294967296) >>> 0;
    let h = fmix32(lo ^ 0x9e3779b9);
    h = fmix32(h ^ hi ^ 0x7f4a7c15);
    h = fmix32(h ^ st ^ 0x85ebca77);
    h = fmix32(h ^ sh ^ 0xc2b2ae3d);
    this.s0 = fmix32(h + 0x6a09e667);
    this.s1 = fmix32(h + 0xbb67ae85);
    this.s2 = fmix32(h + 0x3c6ef372);
    this.s3 = fmix32(h + 0xa54ff53a);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    // Warm up so nearby seeds decorrelate fully.
    for (let i = 0; i < 8; i++) this.nextU32();
  }

  /** Next uniform 32-bit word, as a non-negative number. */
  nextU32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r >>> 0;
  }

  /** Uniform in the open interval (0, 1). */
  uniform(): number {
    return (this.nextU32() + 0.5) * 2.3283064365386963e-10;
  }

  /** Standard normal N(0, 1) (ziggurat). */
  normal(): number {
    const u = this.nextU32();
    const iz = u & 127;
    const hz = (u | 0) >> 7;
    if (Math.abs(hz) < kn[iz]) return hz * wn[iz];
    return this.normalSlow(hz, iz);
  }

  /** The ziggurat's rare path: the wedge of layer iz, or the tail beyond ZR for iz = 0. */
  private normalSlow(hz: number, iz: number): number {
    for (;;) {
      if (iz === 0) {
        let x: number;
        let y: number;
        do {
          x = -Math.log(this.uniform()) / ZR;
          y = -Math.log(this.uniform());
        } while (y + y < x * x);
        return hz > 0 ? ZR + x : -ZR - x;
      }
      const x = hz * wn[iz];
      if (fn[iz] + this.uniform() * (fn[iz - 1] - fn[iz]) < Math.exp(-0.5 * x * x)) return x;
      const u = this.nextU32();
      iz = u & 127;
      hz = (u | 0) >> 7;
      const ahz = hz < 0 ? -hz : hz;
      if (ahz < kn[iz]) return hz * wn[iz];
    }
  }

  /**
   * In place x[i] = a·y[i] + b·x[i] + c·z_i with z_i ~ N(0, 1) — the ancestral step's whole
   * arithmetic fused with the noise draw (one pass over memory, no noise buffer). Draws exactly
   * the normals fillNormal would, in the same order.
   */
  fusedAxpbyNormal(x: Float32Array, y: Float32Array, a: number, b: number, c: number): void {
    // The hot loop of every ancestral step. Generator state and tables in locals; |hz| by Math.abs,
    // which V8 compiles branch-free (`hz < 0 ? −hz : hz` was a branch on a random sign, mispredicted
    // half the time); the rare path (~1.2 % of draws) leaves the inner loop instead of being a call
    // inside it (which cost the loop its registers). Same words, same normals, same arithmetic.
    const K = kn;
    const Wn = wn;
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    const n = x.length;
    let i = 0;
    while (i < n) {
      let hz = 0;
      let iz = 0;
      for (; i < n; i++) {
        const m5 = Math.imul(s1, 5);
        const r = Math.imul((m5 << 7) | (m5 >>> 25), 9);
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        iz = r & 127;
        hz = r >> 7;
        if (Math.abs(hz) >= K[iz]) break;
        const z = hz * Wn[iz];
        x[i] = a * y[i] + b * x[i] + c * z;
      }
      if (i < n) {
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
        const z = this.normalSlow(hz, iz);
        s0 = this.s0;
        s1 = this.s1;
        s2 = this.s2;
        s3 = this.s3;
        x[i] = a * y[i] + b * x[i] + c * z;
        i++;
      }
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  /**
   * Fill `out` with N(0, 1) samples — the same sequence as calling normal() out.length times, but
   * with the generator state in locals (as fusedAxpbyNormal).
   */
  fillNormal(out: Float32Array): Float32Array {
    const K = kn;
    const Wn = wn;
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    const n = out.length;
    let i = 0;
    while (i < n) {
      let hz = 0;
      let iz = 0;
      for (; i < n; i++) {
        // xoshiro128** inline
        const m5 = Math.imul(s1, 5);
        const r = Math.imul((m5 << 7) | (m5 >>> 25), 9);
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        iz = r & 127;
        hz = r >> 7;
        if (Math.abs(hz) >= K[iz]) break;
        out[i] = hz * Wn[iz];
      }
      if (i < n) {
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
        out[i] = this.normalSlow(hz, iz);
        s0 = this.s0;
        s1 = this.s1;
        s2 = this.s2;
        s3 = this.s3;
        i++;
      }
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
