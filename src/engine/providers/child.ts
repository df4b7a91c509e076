/**
 * Child-process entry for provider work that must run under its own environment (a Vulkan driver chosen
 * by VK_ICD_FILENAMES is read when onnxruntime starts) or must not take its parent down if a driver
 * crashes: `doctor`, the GPU tests and the GPU bench start it through `runIsolated` (isolated.ts).
 *
 * Protocol: one request on the IPC channel, one answer `{ ok: true, result }` or `{ ok: false, error }`.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { availableProviders, batchFor, providerOffers, ortVersion, runSelfTest, selectProvider, timeStep, vulkanStatus, type ProviderName, type SelectOptions } from '../providers';
import { median } from '../stats';
import type { DiffuseResult, IsolatedRequest } from './isolated';

ort.env.logLevel = 'error';

function readF32(path: string, n: number): Float32Array {
  const buf = readFileSync(path);
  if (buf.byteLength !== n * 4) throw new Error(`${path}: ${buf.byteLength} bytes, expected ${n * 4}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

/** Run a parity fixture (test/fixtures/parity/<name>/meta.json) on `provider`; max |Δ| per output vs the stored PyTorch outputs. */
async function parity(provider: ProviderName, dir: string, root: string) {
  type Spec = { file: string; shape: number[] };
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { model: string; tolerance: number; inputs: Record<string, Spec>; outputs: Record<string, Spec> };
  const session = await ort.InferenceSession.create(resolve(root, meta.model), { executionProviders: [provider], intraOpNumThreads: 1, interOpNumThreads: 1 });
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, s] of Object.entries(meta.inputs)) feeds[k] = new ort.Tensor('float32', readF32(join(dir, s.file), size(s.shape)), s.shape);
  const t0 = performance.now();
  const res = await session.run(feeds);
  const ms = performance.now() - t0;
  const diffs: Record<string, number> = {};
  for (const [k, s] of Object.entries(meta.outputs)) {
    const want = readF32(join(dir, s.file), size(s.shape));
    const got = res[k].data as Float32Array;
    let m = got.length === want.length ? 0 : Infinity;
    for (let i = 0; i < want.length && m !== Infinity; i++) {
      const d = Math.abs(got[i] - want[i]);
      m = Number.isNaN(d) ? Infinity : Math.max(m, d);
    }
    diffs[k] = m;
  }
  await session.release();
  return { provider, tolerance: meta.tolerance, maxAbsDiff: diffs, ms };
}

async function handle(req: IsolatedRequest): Promise<unknown> {
  const sel: SelectOptions = { threads: req.threads, tolerance: req.tolerance, perturbReference: req.perturbReference, autoMinSpeedup: req.autoMinSpeedup ?? undefined, noCache: true };
  switch (req.op) {
    case 'info':
      return { platform: process.platform, arch: process.arch, ort: ortVersion(), offers: providerOffers(), available: availableProviders(), vulkan: process.platform === 'linux' ? vulkanStatus() : null };
    case 'selfTest':
      return runSelfTest(req.provider as ProviderName, req.modelDir!, sel);
    case 'select':
      return selectProvider(req.setting ?? 'auto', req.modelDir!, sel);
    case 'time': {
      const out = [];
      const pairs = req.pairs ?? (req.sizes ?? [128]).flatMap((s) => (req.batches ?? [1]).map((b) => [s, b] as [number, number]));
      for (const [s, b] of pairs) out.push(await timeStep(req.provider as ProviderName, req.modelDir!, { size: s, batch: b, runs: req.runs, threads: req.threads, budgetMs: req.budgetMs }));
      return out;
    }
    case 'parity':
      return parity(req.provider as ProviderName, req.parityDir!, req.root ?? process.cwd());
    case 'restore': {
      const { runRestore } = await import('../restore');
      return runRestore(req.restore!);
    }
    case 'diffuse': {
      const d = req.diffuse!;
      const provider = (req.provider ?? 'cpu') as ProviderName;
      const { restoreDiffusion } = await import('../diffusion/index');
      const { session } = await import('../catalogue');
      const { f32ToU8 } = await import('../image');
      const model = await session(req.modelDir!, { threads: req.threads, provider });
      const batch = d.batch ?? batchFor(provider, model.card.tile.size);
      // A deterministic, textured synthetic photo (smooth gradients + fine detail).
      const lr = { width: d.width, height: d.height, data: new Float32Array(d.width * d.height * 3) };
      for (let y = 0; y < d.height; y++)
        for (let x = 0; x < d.width; x++)
          for (let c = 0; c < 3; c++) {
            const v = 0.5 + 0.3 * Math.sin((x + 7 * c) * 0.21) * Math.cos(y * 0.17 + c) + 0.15 * Math.sin((x * y + c * 31) * 0.013);
            lr.data[(y * d.width + x) * 3 + c] = Math.min(1, Math.max(0, v));
          }
      const opts = { scale: d.scale, sampler: d.sampler, fidelity: d.fidelity, seed: d.seed, batch };
      let t = performance.now();
      let r = await restoreDiffusion(model, lr, opts);
      const firstMs = performance.now() - t;
      const runs: number[] = [];
      for (let i = 0; i < (d.runs ?? 1); i++) {
        t = performance.now();
        r = await restoreDiffusion(model, lr, opts);
        runs.push(performance.now() - t);
      }
      const u8 = f32ToU8(r.image).data;
      if (d.rawOut) writeFileSync(d.rawOut, u8);
      const res: DiffuseResult = {
        provider: r.info.provider,
        width: r.image.width,
        height: r.image.height,
        batch,
        tiles: r.info.tiles,
        callsPerTile: r.info.callsPerTile,
        calls: r.info.calls,
        onnxRuns: r.info.onnxRuns,
        firstMs,
        runs,
        medianMs: runs.length ? median(runs) : firstMs,
        msOnnx: r.info.msOnnx,
        sha256: createHash('sha256').update(u8).digest('hex'),
      };
      return res;
    }
    case 'batch': {
      const out: ({ ok: true; result: unknown } | { ok: false; error: string })[] = [];
      for (const r of req.requests ?? []) {
        try {
          out.push({ ok: true, result: await handle(r) });
        } catch (e) {
          out.push({ ok: false, error: e instanceof Error ? e.message.split('\n')[0] : String(e) });
        }
      }
      return out;
    }
    default:
      throw new Error(`unknown op ${(req as { op: string }).op}`);
  }
}

process.once('message', (m) => {
  handle(m as IsolatedRequest).then(
    (result) => process.send!({ ok: true, result }, () => process.exit(0)),
    (e) => process.send!({ ok: false, error: e instanceof Error ? e.message.split('\n')[0] : String(e) }, () => process.exit(0)),
  );
});
process.send!({ ready: true });
