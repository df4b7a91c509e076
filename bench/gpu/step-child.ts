/**
 * A child process that restores synthetic photos with one provider and several `step` settings
 * (src/engine/diffusion/step.ts), so that the fused step can be compared and timed with the JS step
 * on the same sessions: the GPU bench (bench-gpu.ts --jobs fused), bench/engine-overhead.ts --step,
 * and test/integration/gpu-step.test.ts. Each provider runs in its own child because the Vulkan
 * driver (SwiftShader or NVIDIA) is chosen by environment variables read once per process.
 *
 * Protocol (as src/engine/providers/child.ts): the child sends { ready: true }, gets one StepChildRequest,
 * answers { ok: true, result: StepJobResult[] } or { ok: false, error } and exits.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { askChild, IsolatedError } from '../../src/engine/providers/isolated';

export interface StepJob {
  width: number;
  height: number;
  scale: number;
  sampler: string;
  fidelity: number;
  seed: number;
  batch: number;
  /** 'js' | 'device' | 'device-noise' | 'auto' */
  step: string;
  /** Timed runs after the first (default 0: the first run only). */
  runs?: number;
  /** Write the float32 output here (raw, HWC). */
  f32Out?: string;
  /** Write the 8-bit output here (raw RGB). */
  u8Out?: string;
}

export interface StepChildRequest {
  modelDir: string;
  provider: string;
  threads: number;
  jobs: StepJob[];
}

export interface StepRun {
  wallMs: number;
  msOnnx: number;
  msPolicy: number;
}

export interface StepJobResult {
  job: StepJob;
  provider: string;
  step: string;
  stepReason: string;
  tiles: number;
  calls: number;
  onnxRuns: number;
  /** The first run (session and shader start-up included), then the timed runs. */
  first: StepRun;
  runs: StepRun[];
  sha256: string;
  error?: string;
}

/** The textured synthetic LR photo of the GPU bench (src/engine/providers/child.ts 'diffuse'). */
export function syntheticLR(w: number, h: number): { width: number; height: number; data: Float32Array } {
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const v = 0.5 + 0.3 * Math.sin((x + 7 * c) * 0.21) * Math.cos(y * 0.17 + c) + 0.15 * Math.sin((x * y + c * 31) * 0.013);
        data[(y * w + x) * 3 + c] = Math.min(1, Math.max(0, v));
      }
  return { width: w, height: h, data };
}

async function handle(req: StepChildRequest): Promise<StepJobResult[]> {
  const { loadModel, restoreDiffusion } = await import('../../src/engine/diffusion/index');
  const model = await loadModel(req.modelDir, { threads: req.threads, providers: [req.provider] });
  const out: StepJobResult[] = [];
  for (const job of req.jobs) {
    const lr = syntheticLR(job.width, job.height);
    const opts = { scale: job.scale, sampler: job.sampler, fidelity: job.fidelity, seed: job.seed, batch: job.batch, step: job.step as 'js' };
    const once = async () => {
      const t0 = performance.now();
      const r = await restoreDiffusion(model, lr, opts);
      return { r, run: { wallMs: performance.now() - t0, msOnnx: r.info.msOnnx, msPolicy: r.info.msPolicy } };
    };
    try {
      let { r, run: first } = await once();
      const runs: StepRun[] = [];
      for (let i = 0; i < (job.runs ?? 0); i++) {
        const o = await once();
        r = o.r;
        runs.push(o.run);
      }
      const f = r.image.data;
      if (job.f32Out) writeFileSync(job.f32Out, Buffer.from(f.buffer, f.byteOffset, f.byteLength));
      const u8 = new Uint8Array(f.length);
      for (let i = 0; i < f.length; i++) u8[i] = Math.round(Math.min(1, Math.max(0, f[i])) * 255);
      if (job.u8Out) writeFileSync(job.u8Out, u8);
      out.push({
        job,
        provider: r.info.provider,
        step: r.info.step,
        stepReason: r.info.stepReason,
        tiles: r.info.tiles,
        calls: r.info.calls,
        onnxRuns: r.info.onnxRuns,
        first,
        runs,
        sha256: createHash('sha256').update(Buffer.from(f.buffer, f.byteOffset, f.byteLength)).digest('hex'),
      });
    } catch (e) {
      out.push({ job, provider: req.provider, step: job.step, stepReason: '', tiles: 0, calls: 0, onnxRuns: 0, first: { wallMs: NaN, msOnnx: NaN, msPolicy: NaN }, runs: [], sha256: '', error: (e as Error).message.split('\n')[0] });
    }
  }
  return out;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Fork this file (through tsx from source, or the bundled step-child.js) with `env` and run `req` (askChild). */
export async function runStepChild(req: StepChildRequest, o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<StepJobResult[]> {
  try {
    return await askChild<StepJobResult[]>(join(here, 'step-child'), req, 'step child', { args: ['--child'], env: o.env, timeoutMs: o.timeoutMs ?? 600_000 });
  } catch (e) {
    throw e instanceof IsolatedError ? new Error(`${e.message}; stderr: ${e.stderr.slice(-800)}`) : e;
  }
}

if (process.argv.includes('--child') && process.send) {
  process.once('message', (m) => {
    handle(m as StepChildRequest).then(
      (result) => process.send!({ ok: true, result }, () => process.exit(0)),
      (e) => process.send!({ ok: false, error: e instanceof Error ? e.message : String(e) }, () => process.exit(1)),
    );
  });
  process.send({ ready: true });
}
