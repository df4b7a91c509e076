/**
 * Synthetic damage for the bench and tests: masks of three kinds (thin scratches, a crack network,
 * blotches/stains) in two sizes, drawn with a seeded RNG, and their compositing over a clean image.
 */
import type { ImageF32 } from '../image';
import { Rng } from '../diffusion/rng';
import type { Mask } from './mask';

export type DamageKind = 'scratches' | 'cracks' | 'blotches';
export type DamageSize = 'small' | 'large';
export const DAMAGE_KINDS: DamageKind[] = ['scratches', 'cracks', 'blotches'];
export const DAMAGE_SIZES: DamageSize[] = ['small', 'large'];

function disc(m: Uint8Array, W: number, H: number, cx: number, cy: number, r: number): void {
  const ri = Math.ceil(r);
  for (let y = Math.floor(cy) - ri; y <= Math.ceil(cy) + ri; y++) {
    if (y < 0 || y >= H) continue;
    for (let x = Math.floor(cx) - ri; x <= Math.ceil(cx) + ri; x++) {
      if (x < 0 || x >= W) continue;
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m[y * W + x] = 255;
    }
  }
}

/** A stroke along a random walk from (x, y) with heading `a`, `steps` of 1 px, curvature `bend`. */
function walk(m: Uint8Array, W: number, H: number, rng: Rng, x: number, y: number, a: number, steps: number, bend: number, r: number, branch: number, depth = 0): void {
  for (let s = 0; s < steps; s++) {
    disc(m, W, H, x, y, r);
    a += (rng.uniform() - 0.5) * bend;
    x += Math.cos(a);
    y += Math.sin(a);
    if (x < -2 || y < -2 || x > W + 1 || y > H + 1) return;
    if (depth < 3 && rng.uniform() < branch) walk(m, W, H, rng, x, y, a + (rng.uniform() < 0.5 ? -1 : 1) * (0.6 + rng.uniform() * 0.8), Math.floor(steps * (0.3 + 0.4 * rng.uniform())), bend * 1.5, Math.max(0.5, r * 0.8), branch * 0.5, depth + 1);
  }
}

/** A damage mask of `kind` and `size` for a W×H image (seeded: same arguments, same mask). */
export function synthMask(W: number, H: number, kind: DamageKind, size: DamageSize, seed: number): Mask {
  const rng = new Rng(seed, kind === 'scratches' ? 1 : kind === 'cracks' ? 2 : 3);
  const m = new Uint8Array(W * H);
  const side = Math.min(W, H);
  const big = size === 'large';
  if (kind === 'scratches') {
    // Long, nearly straight, thin lines (r 0.5 → 1 px wide, 0.9 → 2 px).
    const n = big ? 6 : 3;
    for (let i = 0; i < n; i++) {
      const x = rng.uniform() * W, y = rng.uniform() * H;
      walk(m, W, H, rng, x, y, rng.uniform() * Math.PI * 2, Math.floor(side * (0.4 + 0.5 * rng.uniform())), 0.04, big ? 0.9 : 0.6, 0);
    }
  } else if (kind === 'cracks') {
    // A branching network of wandering lines.
    const n = big ? 4 : 2;
    for (let i = 0; i < n; i++) {
      const x = rng.uniform() * W, y = rng.uniform() * H;
      walk(m, W, H, rng, x, y, rng.uniform() * Math.PI * 2, Math.floor(side * (0.5 + 0.5 * rng.uniform())), 0.5, big ? 0.9 : 0.6, 0.02);
    }
  } else {
    // Blotches: irregular blobs (a few overlapping discs each) and dust specks.
    const n = big ? 6 : 3;
    const R = side * (big ? 0.06 : 0.035);
    for (let i = 0; i < n; i++) {
      const cx = rng.uniform() * W, cy = rng.uniform() * H;
      for (let k = 0; k < 4; k++) disc(m, W, H, cx + (rng.uniform() - 0.5) * R, cy + (rng.uniform() - 0.5) * R, R * (0.4 + 0.6 * rng.uniform()));
    }
    for (let i = 0; i < n * 3; i++) disc(m, W, H, rng.uniform() * W, rng.uniform() * H, 0.6 + rng.uniform() * 1.2);
  }
  return { width: W, height: H, data: m };
}

/**
 * `img` with the damage of `mask` painted in: scratches and cracks mostly bright (lost emulsion,
 * as on the real prints), some dark; blotches a flat stain colour. Inside the mask the picture is
 * fully replaced (opacity 0.85 – 1), so the mask is the exact set of damaged pixels.
 */
export function applyDamage(img: ImageF32, mask: Mask, kind: DamageKind, seed: number): ImageF32 {
  const rng = new Rng(seed, 17);
  const out = new Float32Array(img.data);
  const bright = kind === 'blotches' ? rng.uniform() < 0.5 : rng.uniform() < 0.75;
  const base = bright ? [0.93, 0.9, 0.84] : kind === 'blotches' ? [0.35, 0.27, 0.18] : [0.08, 0.07, 0.06];
  const alpha = 0.85 + 0.15 * rng.uniform();
  for (let i = 0; i < mask.data.length; i++) {
    if (!mask.data[i]) continue;
    const j = (rng.uniform() - 0.5) * 0.06;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.min(1, Math.max(0, (1 - alpha) * out[i * 3 + c] + alpha * (base[c] + j)));
  }
  return { width: img.width, height: img.height, data: out };
}
