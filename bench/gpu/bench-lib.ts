/** Helpers of the GPU bench: provider API re-exports and the sampler that makes ≈N denoiser calls. */
import { estimateCalls, readCard } from '../../src/engine/diffusion/index';

export { BATCH_LIMITS, batchFor, softwareVulkanEnv, type ProviderName, type SelfTestResult, type StepTiming } from '../../src/engine/providers';

/** skipdiff (policy when the package has one, else the fixed stride) at the knob whose call count is closest to `target`. */
export function estimateCallsFor(modelDir: string, target: number, sampler?: string, fidelity = 0.5): { sampler: string; fidelity: number; calls: number } {
  const card = readCard(modelDir);
  if (sampler) return { sampler, fidelity, calls: estimateCalls(card, sampler, fidelity) };
  let best = { sampler: 'skipdiff', fidelity: 0.5, calls: estimateCalls(card, 'skipdiff', 0.5) };
  for (let k = 0; k <= 20; k++) {
    const f = k / 20;
    const c = estimateCalls(card, 'skipdiff', f);
    if (Math.abs(c - target) < Math.abs(best.calls - target)) best = { sampler: 'skipdiff', fidelity: f, calls: c };
  }
  return best;
}
