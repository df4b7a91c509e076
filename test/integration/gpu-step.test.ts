/**
 * The fused step (src/engine/diffusion/step.ts) on onnxruntime's WebGPU provider, run on SwiftShader
 * (software Vulkan: proves the code path and the numbers, not the speed), against the JS step on the
 * CPU provider. Two child processes (bench/gpu/step-child.ts), one per provider, side by side:
 * tiny-x4, 24×16 → 96×64 (2 tiles, batch 2), ddpm:3 (noisy moves between every call).
 *
 * Stated tolerances (measured here: see the console lines):
 *   webgpu 'device' vs cpu 'js'                 float output max |Δ| ≤ 1e-4 (measured 3.6e-6: the same as
 *                                               webgpu 'js' vs cpu 'js'), 8-bit ≤ 1 level
 *   webgpu 'device-noise' vs cpu 'device-noise'  ≤ 1e-4 (measured 3.3e-6: the generator's integers are the
 *                                               same; only log and sqrt are the devices' own, sin and cos are
 *                                               polynomials, SwiftShader's Sin/Cos are 1.9e-4 off)
 *   the same request twice on webgpu            identical bytes, 'device' ('auto' = 'device') and 'device-noise'
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStepChild, type StepJob, type StepJobResult } from '../../bench/gpu/step-child';
import { softwareVulkanEnv, SWIFTSHADER_ICD } from '../../src/engine/providers';
import { requirePrereq } from '../prereq';

const TINY = new URL('../fixtures/models/tiny-x4/', import.meta.url).pathname;
const swEnv = softwareVulkanEnv();
const SKIP = swEnv ? false : `${SWIFTSHADER_ICD} is missing (apt-get install chromium): no software Vulkan driver`;
if (SKIP && !requirePrereq('webgpu (SwiftShader)', false, SKIP)) console.warn(`gpu-step tests skipped: ${SKIP}`);

describe.skipIf(!!SKIP)('fused step on webgpu (SwiftShader) vs the JS step on the cpu', () => {
  it('device ≈ cpu js, device-noise ≈ cpu device-noise, same bytes twice; auto picks device on webgpu', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpu-step-'));
    const base = { width: 24, height: 16, scale: 4, sampler: 'ddpm:3', fidelity: 0.5, seed: 7, batch: 2 };
    const job = (p: string, step: string, i: number): StepJob => ({ ...base, step, f32Out: join(dir, `${p}-${step}-${i}.f32`) });
    const gpuSteps = ['js', 'device', 'device-noise', 'device-noise', 'auto'];
    const cpuSteps = ['js', 'device-noise'];
    const [gpu, cpu] = await Promise.all([
      runStepChild({ modelDir: TINY, provider: 'webgpu', threads: 1, jobs: gpuSteps.map((s, i) => job('g', s, i)) }, { env: swEnv!, timeoutMs: 280_000 }),
      runStepChild({ modelDir: TINY, provider: 'cpu', threads: 1, jobs: cpuSteps.map((s, i) => job('c', s, i)) }, { timeoutMs: 280_000 }),
    ]);
    for (const r of [...gpu, ...cpu]) expect(r.error, `${r.provider} ${r.job.step}: ${r.error}`).toBeUndefined();
    const f32 = (r: StepJobResult) => new Float32Array(readFileSync(r.job.f32Out!).buffer.slice(0));
    const cmp = (a: StepJobResult, b: StepJobResult) => {
      const x = f32(a);
      const y = f32(b);
      let max = 0;
      let levels = 0;
      for (let i = 0; i < x.length; i++) {
        max = Math.max(max, Math.abs(x[i] - y[i]));
        levels = Math.max(levels, Math.abs(Math.round(x[i] * 255) - Math.round(y[i] * 255)));
      }
      return { max, levels };
    };
    const [gJs, gDev, gNz, gNz2, gAuto] = gpu;
    const [cJs, cNz] = cpu;
    expect(gpu.map((r) => r.provider)).toEqual(gpuSteps.map(() => 'webgpu'));
    expect(gpu.map((r) => r.step)).toEqual(['js', 'device', 'device-noise', 'device-noise', 'device']);
    expect(gAuto.stepReason).toBe('auto: webgpu provider');
    expect(gDev.calls).toBe(cJs.calls);
    const js = cmp(gJs, cJs);
    const dev = cmp(gDev, cJs);
    const nz = cmp(gNz, cNz);
    console.info(`webgpu js vs cpu js: max |Δ| ${js.max.toExponential(2)}; webgpu device vs cpu js: ${dev.max.toExponential(2)} (${dev.levels} levels); webgpu device-noise vs cpu device-noise: ${nz.max.toExponential(2)} (${nz.levels} levels)`);
    console.info(`first run (session + shaders) / ms in onnxruntime: ${gpu.map((r) => `${r.job.step} ${Math.round(r.first.wallMs)} / ${Math.round(r.first.msOnnx)}`).join('; ')}`);
    expect(dev.max).toBeLessThanOrEqual(1e-4);
    expect(dev.levels).toBeLessThanOrEqual(1);
    expect(nz.max).toBeLessThanOrEqual(1e-4);
    expect(cmp(gNz, cJs).max).toBeGreaterThan(0.05); // really the device generator's noise
    expect(gNz2.sha256).toBe(gNz.sha256);
    expect(gAuto.sha256).toBe(gDev.sha256);
  }, 300_000);
});
