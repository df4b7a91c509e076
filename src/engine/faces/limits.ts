/**
 * Which faces `portrait` leaves to the background: thresholds and the reason, as pure functions
 * (no tfjs, no onnxruntime), so the main process can say it for `faces.detect` without loading models.
 */

/**
 * Faces whose 128² template frame spans more input pixels are left to the background. Measured
 * (bench/faces-large.ts, models/face-x8, 16 val faces): from a 16–32 px frame the face model is
 * more natural than the plain enlargement (NIQE 6.9–7.0 vs 8.8–12.5) at +1.8…−2.4 dB PSNR; from
 * 48 px it gains little (NIQE 6.9 vs 7.4) and loses 4.8 dB; at 64 px NIQE ties and it loses 5.7 dB.
 */
export const MAX_FACE_FRAME_PX = 40;
/**
 * The same limit when the background is the natural model (measured the same way, natural-x4 ×(128/F)):
 * at F = 32 the natural model alone beats the face model on PSNR (32.0 vs 27.4 dB) *and* NIQE
 * (6.3 vs 6.9); at F = 16 the face model is more faithful (27.3 vs 25.1 dB, SSIM 0.79 vs 0.67).
 */
export const MAX_FACE_FRAME_PX_NATURAL = 24;
/** Faces whose 5 landmarks fit the template worse than this (mean, template px) are not restored. */
export const MAX_LANDMARK_RESIDUAL = 9;
/** Faces whose template frame spans fewer input pixels than this are left to the background. */
export const MIN_FACE_FRAME_PX = 8;

/** Why a face is left to the background, or null when it is restored. */
export function skipReason(residual: number, framePx: number, t: { maxResidual: number; minFrame: number; maxFrame: number }): string | null {
  if (!(residual <= t.maxResidual)) return `landmarks do not fit a face (residual ${residual.toFixed(1)} > ${t.maxResidual} template px): left to the background`;
  if (framePx < t.minFrame) return `too small (frame ${framePx.toFixed(1)} px < ${t.minFrame} px on the input): left to the background`;
  if (framePx > t.maxFrame) return `large face (frame ${framePx.toFixed(0)} px > ${t.maxFrame} px on the input): left to the background`;
  return null;
}

/** The default thresholds, for a Lanczos or a natural-model background. */
export function defaultLimits(naturalBackground: boolean): { maxResidual: number; minFrame: number; maxFrame: number } {
  return { maxResidual: MAX_LANDMARK_RESIDUAL, minFrame: MIN_FACE_FRAME_PX, maxFrame: naturalBackground ? MAX_FACE_FRAME_PX_NATURAL : MAX_FACE_FRAME_PX };
}
