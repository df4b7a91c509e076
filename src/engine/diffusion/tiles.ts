/**
 * Tiling of the HR canvas (DESIGN §1.7, large images).
 *
 * Per axis (the grid is the Cartesian product of an x-axis and a y-axis layout):
 * - size ≤ tile: one tile of length roundUp(size, multiple); the part beyond the image is
 *   reflection padding of the conditioning (whole-sample reflection, as numpy 'reflect').
 * - otherwise tiles of length `tile` at stride tile − overlap, the last one moved back to end
 *   exactly at the image edge (its overlap with the previous one is then larger).
 *
 * Blending: each tile's weight along an axis is 1 in the middle and a raised-cosine ramp
 * 0.5 − 0.5·cos(π(i + ½)/ov) over the *whole* overlap ov with each neighbour (a tile's ramp and its
 * neighbour's mirrored ramp sum to exactly 1). Weights are then divided by their sum over tiles per
 * position, so they form a partition of unity; because the grid is a product, the 2-D weight of a
 * tile is wx(x)·wy(y) and the sum over tiles is Σwx·Σwy. Tiles are therefore accumulated straight
 * into the output image (out += w·tile): no weight buffer, no full-size copy besides the output.
 */

export interface AxisLayout {
  /** Image size along the axis. */
  size: number;
  /** Tile length along the axis (multiple of `multiple`). */
  len: number;
  starts: number[];
  /** Normalised blend weights per tile, `len` entries each (0 beyond the image). */
  weights: Float32Array[];
}

export function roundUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}

export function axisLayout(size: number, tile: number, overlap: number, multiple: number): AxisLayout {
  if (!(size >= 1)) throw new RangeError(`image size must be ≥ 1: ${size}`);
  if (tile % multiple !== 0) throw new Error(`tile size ${tile} is not a multiple of ${multiple}`);
  if (overlap >= tile) throw new Error(`tile overlap ${overlap} must be smaller than the tile ${tile}`);
  let len: number;
  const starts: number[] = [];
  if (size <= tile) {
    len = roundUp(size, multiple);
    starts.push(0);
  } else {
    len = tile;
    const stride = tile - overlap;
    for (let s = 0; ; s += stride) {
      if (s + tile >= size) {
        starts.push(size - tile);
        break;
      }
      starts.push(s);
    }
  }
  const raw = starts.map((s, t) => {
    const w = new Float64Array(len).fill(1);
    if (t > 0) ramp(w, starts[t - 1] + len - s, true);
    if (t + 1 < starts.length) ramp(w, s + len - starts[t + 1], false);
    for (let i = 0; i < len; i++) if (s + i >= size) w[i] = 0;
    return w;
  });
  const sum = new Float64Array(size);
  starts.forEach((s, t) => {
    for (let i = 0; i < len && s + i < size; i++) sum[s + i] += raw[t][i];
  });
  const weights = starts.map((s, t) => {
    const w = new Float32Array(len);
    for (let i = 0; i < len && s + i < size; i++) w[i] = raw[t][i] / sum[s + i];
    return w;
  });
  return { size, len, starts, weights };
}

/** Multiply the first (rising) or last (falling) `ov` entries by a raised-cosine ramp. */
function ramp(w: Float64Array, ov: number, rising: boolean) {
  if (ov <= 0) return;
  const n = w.length;
  for (let i = 0; i < ov && i < n; i++) {
    const r = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / ov);
    if (rising) w[i] *= r;
    else w[n - 1 - i] *= r;
  }
}

/** Whole-sample reflection of index i into [0, n). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}

export interface TileGrid {
  width: number;
  height: number;
  x: AxisLayout;
  y: AxisLayout;
  count: number;
}

export function tileGrid(width: number, height: number, t: { size: number; overlap: number; multiple: number }): TileGrid {
  const x = axisLayout(width, t.size, t.overlap, t.multiple);
  const y = axisLayout(height, t.size, t.overlap, t.multiple);
  return { width, height, x, y, count: x.starts.length * y.starts.length };
}

/** Tile index → (column, row), row-major. */
export function tileAt(g: TileGrid, index: number): { col: number; row: number; x0: number; y0: number } {
  const cols = g.x.starts.length;
  const col = index % cols;
  const row = Math.floor(index / cols);
  return { col, row, x0: g.x.starts[col], y0: g.y.starts[row] };
}

/**
 * out (HWC, width×height×3) += weight · (tile·a + b), for a CHW tile of the grid. With a = b = 0.5 this
 * maps a [-1,1] tile to [0,1].
 */
export function accumulateTile(g: TileGrid, index: number, tile: Float32Array, out: Float32Array, a = 0.5, b = 0.5): void {
  const { col, row, x0, y0 } = tileAt(g, index);
  const tw = g.x.len;
  const th = g.y.len;
  const plane = tw * th;
  const wx = g.x.weights[col];
  const wy = g.y.weights[row];
  const W = g.width;
  const xMax = Math.min(tw, W - x0);
  const yMax = Math.min(th, g.height - y0);
  for (let j = 0; j < yMax; j++) {
    const wyj = wy[j];
    if (wyj === 0) continue;
    let o = ((y0 + j) * W + x0) * 3;
    let p = j * tw;
    for (let i = 0; i < xMax; i++, o += 3, p++) {
      const w = wyj * wx[i];
      out[o] += w * (tile[p] * a + b);
      out[o + 1] += w * (tile[plane + p] * a + b);
      out[o + 2] += w * (tile[2 * plane + p] * a + b);
    }
  }
}
