/**
 * Which faces `portrait` leaves to the background: thresholds and the reason, as pure functions
 * (no tfjs, no onnxruntime), so the main process can say it for `faces.detect` without loading models.
 */

/**
 * Faces whose 128² template frame spans more input pixels are left to the background. Measured
 * (bench/faces-large.ts → bench/results/faces/large-faces-gpu.md, GPU-trained face-x8, colour-matched
 * at σ 0.35 input px, 16 val faces): over Lanczos the face is 0.5–1.7 dB closer to the truth at 24–32 px
 * frames and no better from 48 px (31.8 vs 32.1 dB), where the face model only trades fidelity for detail.
 */
export const MAX_FACE_FRAME_PX = 40;
/**
 * The same limit when the background is the natural model: at F = 32 the GPU-trained natural-x4 alone
 * beats even the matched face (32.3 vs 31.5 dB, NIQE 5.5 vs 6.2); at F = 16 the face model is far more
 * faithful (27.7 vs 25.0 dB).
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
