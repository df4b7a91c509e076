/** Small dense linear algebra for NIQE (row-major Float64Array matrices). */

/** Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations. */
export function symEig(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const A = a.slice();
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += A[i * n + i] * A[i * n + i];
      for (let j = i + 1; j < n; j++) off += A[i * n + j] * A[i * n + j];
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        const app = A[p * n + p];
        const aqq = A[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p];
          const akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k];
          const aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p];
          const vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i];
  return { values, vectors: V };
}

/**
 * Moore-Penrose pseudo-inverse of a symmetric matrix (numpy.linalg.pinv semantics: singular values
 * below rcond x the largest are treated as zero, rcond = 1e-15).
 */
export function pinvSym(a: Float64Array, n: number, rcond = 1e-15): Float64Array {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return new Float64Array(n * n).fill(NaN);
  const { values, vectors: V } = symEig(a, n);
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  const cutoff = rcond * max;
  const inv = new Float64Array(n);
  for (let i = 0; i < n; i++) inv[i] = Math.abs(values[i]) > cutoff ? 1 / values[i] : 0;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += V[i * n + k] * inv[k] * V[j * n + k];
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** Column means ignoring NaN (numpy.nanmean(axis=0)); NaN for an all-NaN column. */
export function nanMean(rows: ArrayLike<number>[], d: number): Float64Array {
  const s = new Float64Array(d);
  const c = new Float64Array(d);
  for (const r of rows) {
    for (let j = 0; j < d; j++) {
      const v = r[j];
      if (!Number.isNaN(v)) {
        s[j] += v;
        c[j]++;
      }
    }
  }
  for (let j = 0; j < d; j++) s[j] = c[j] ? s[j] / c[j] : NaN;
  return s;
}

/**
 * Covariance (ddof = 1) over the rows that contain no NaN (numpy.cov(rows[~isnan.any(1)], rowvar=False)).
 * Fewer than two complete rows give a NaN matrix.
 */
export function covComplete(rows: ArrayLike<number>[], d: number): Float64Array {
  const ok: ArrayLike<number>[] = [];
  for (const r of rows) {
    let good = true;
    for (let j = 0; j < d; j++) if (Number.isNaN(r[j])) good = false;
    if (good) ok.push(r);
  }
  const out = new Float64Array(d * d);
  if (ok.length < 2) return out.fill(NaN);
  const m = new Float64Array(d);
  for (const r of ok) for (let j = 0; j < d; j++) m[j] += r[j];
  for (let j = 0; j < d; j++) m[j] /= ok.length;
  for (const r of ok) {
    for (let i = 0; i < d; i++) {
      const di = r[i] - m[i];
      for (let j = i; j < d; j++) out[i * d + j] += di * (r[j] - m[j]);
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      out[i * d + j] /= ok.length - 1;
      out[j * d + i] = out[i * d + j];
    }
  }
  return out;
}
