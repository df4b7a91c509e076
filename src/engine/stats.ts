/** Small order statistics shared by the engine, the CLI and the bench. */

/**
 * Median of `xs` (NaN when empty). An even count takes the mean of the two middle values, or with
 * `even: 'upper'` the upper one (a value of the sample, as robust thresholds want).
 */
export function median(xs: ArrayLike<number>, even: 'mean' | 'upper' = 'mean'): number {
  if (!xs.length) return NaN;
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 || even === 'upper' ? s[m] : (s[m - 1] + s[m]) / 2;
}
