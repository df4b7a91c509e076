/**
 * The GPU code path without a GPU (DESIGN §4 item 4): onnxruntime-node's `webgpu` provider on Chromium's
 * SwiftShader (software Vulkan). The driver is chosen by environment variables that onnxruntime reads
 * when it starts, so everything WebGPU runs in child processes started with `softwareVulkanEnv()`:
 * provider work through `runIsolated` (src/engine/providers/child.ts), whole restores through the real
 * engine host (EngineClient forks src/engine/host.ts with the parent's env).
 *
 * Slow on purpose-built tiny inputs: SwiftShader takes seconds per 64² step and ~10 s to compile shaders
 * per process, so this file starts three children and keeps shapes few: ≈ 1–1.5 min on 2 cores, up to
 * ≈ 2.5 min when training jobs share them (timeouts allow for more).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { softwareVulkanEnv, SWIFTSHADER_ICD, type ProviderChoice } from '../../src/engine/providers';
import { runIsolated } from '../../src/engine/providers/isolated';
import { EngineClient } from '../../src/main/engine-client';
import { requirePrereq } from '../prereq';
import { hasShared, SHARED_DATA, sharedSkipReason } from '../helpers/shared-data';
import type { RestoreOutcome, RestoreRequest } from '../../src/engine/restore';

const ROOT = path.resolve(__dirname, '../..');
const MODELS = path.join(ROOT, 'test/fixtures/models');
const TINY = path.join(MODELS, 'tiny-x4');
const swEnv = softwareVulkanEnv();
const SKIP = swEnv ? false : `${SWIFTSHADER_ICD} is missing (apt-get install chromium): no software Vulkan driver, WebGPU cannot be tested here`;
if (SKIP && !requirePrereq('webgpu (SwiftShader)', false, SKIP)) console.warn(`gpu-webgpu tests skipped: ${SKIP}`);

/**
 * Observed on SwiftShader vs the CPU (tiny-x4, random weights): one step max |Δ| ≈ 5e-7 (parity with
 * PyTorch ≈ 4e-7); a whole ddim:2 restore (2 tiles) came out identical (0 levels of 255) in our runs.
 * Float differences of ~1e-6 can still flip a rounding at a .5 boundary, so the test allows 2 levels max
 * and a mean < 0.05 levels.
 */
const IMAGE_MAX_LEVELS = 2;
const IMAGE_MEAN_LEVELS = 0.05;

type Item<T> = { ok: true; result: T } | { ok: false; error: string };

describe.skipIf(!!SKIP)('webgpu on SwiftShader (software Vulkan)', () => {
  let dir: string;
  let input: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-webgpu-'));
    input = path.join(dir, 'in.png');
    // 24×16 → 96×64 at ×4: two 64-px tiles (tile 64, overlap 16) across.
    const w = 24;
    const h = 16;
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        px[i] = 40 + x * 7;
        px[i + 1] = 60 + y * 9;
        px[i + 2] = ((x * 13) ^ (y * 29)) & 255;
      }
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(input);
  });

  it('a webgpu session runs the tiny model and matches the CPU within 1e-3; auto keeps the CPU over a software adapter; a provider that disagrees falls back', async () => {
    // (An explicit 'webgpu' selection that passes is checked by the restore test below.)
    // (CPU vs PyTorch is the parity unit test; `runIsolated({ op: 'parity', provider: 'webgpu', ... })` runs
    // the same fixture on webgpu — 3.9e-7 here — but costs one more shader compilation, so not here.)
    const [auto, bad] = await runIsolated<Item<unknown>[]>(
      {
        op: 'batch',
        requests: [
          { op: 'select', setting: 'auto', modelDir: TINY, threads: 1 },
          // A provider that disagrees with the reference (reference shifted by 0.01) must not be used.
          { op: 'select', setting: 'webgpu', modelDir: TINY, threads: 1, perturbReference: 0.01 },
        ],
      },
      { env: swEnv!, timeoutMs: 230_000 },
    );
    // auto: webgpu runs and matches the CPU (self-test within 1e-3), but SwiftShader is far slower
    // than the CPU, so auto keeps the CPU.
    expect(auto.ok, !auto.ok ? auto.error : '').toBe(true);
    const a = (auto as { result: ProviderChoice }).result;
    const st = a.tried.find((t) => t.provider === 'webgpu')!.selfTest!;
    expect(st.ok).toBe(true);
    expect(st.maxAbsDiff).toBeLessThanOrEqual(1e-3);
    expect(st.ms).toBeGreaterThan(st.cpuMs);
    expect(a.provider).toBe('cpu');
    expect(a.reason).toMatch(/^using cpu: webgpu: works but is slower than the cpu/);
    expect(a.reason).not.toMatch(/\n/);

    expect(bad.ok, !bad.ok ? bad.error : '').toBe(true);
    const b = (bad as { result: ProviderChoice }).result;
    expect(b.provider).toBe('cpu');
    expect(b.reason).toMatch(/^webgpu unavailable, using cpu: webgpu: disagrees with the CPU: max \|Δ\| 1\.00e-2 > 0\.001$/);
  }, 240_000);

  it('a webgpu that fails to start (no Vulkan driver) falls back to cpu with a one-line reason', async () => {
    const env = { ...swEnv!, VK_ICD_FILENAMES: path.join(dir, 'no-such-icd.json') };
    const c = await runIsolated<ProviderChoice>({ op: 'select', setting: 'webgpu', modelDir: TINY, threads: 1 }, { env, timeoutMs: 60_000 });
    expect(c.provider).toBe('cpu');
    expect(c.reason).toMatch(/^webgpu unavailable, using cpu: webgpu: (failed to start: .*adapter|Vulkan driver file not found)/i);
    expect(c.reason).not.toMatch(/\n/);
  }, 70_000);

  describe('whole restore through the engine host', () => {
    let client: EngineClient;
    const saved: NodeJS.ProcessEnv = {};
    beforeAll(() => {
      // forkNodeHost passes this process's env: set the SwiftShader variables for the host only.
      for (const k of ['VK_ICD_FILENAMES', 'LD_LIBRARY_PATH', 'XDG_RUNTIME_DIR']) {
        saved[k] = process.env[k];
        if (swEnv![k] !== undefined) process.env[k] = swEnv![k];
      }
      client = new EngineClient();
    });
    afterAll(async () => {
      await client?.close();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    const request = (name: string, provider: string): RestoreRequest => ({
      input,
      output: path.join(dir, `${name}.png`),
      params: { scale: 4, method: 'tiny-x4', sampler: 'ddim:2', fidelity: 0.5, seed: 7 },
      format: 'png',
      modelDirs: [MODELS],
      threads: 1,
      provider,
    });
    const raw = async (file: string) => (await sharp(file).raw().toBuffer({ resolveWithObject: true })).data;

    it('tiles (2) + sampler on webgpu: within 2 levels of the CPU image; same bytes twice on webgpu', async () => {
      const cpu = await client.run(1, request('cpu', 'cpu'));
      const g1: RestoreOutcome = await client.run(2, request('webgpu-1', 'webgpu'));
      const g2: RestoreOutcome = await client.run(3, request('webgpu-2', 'webgpu'));
      expect(cpu.info.provider).toBe('cpu');
      expect(g1.info.provider).toBe('webgpu');
      const pc = g1.info.providerChoice as ProviderChoice;
      expect(pc).toMatchObject({ setting: 'webgpu', provider: 'webgpu', batch: 8 });
      expect(pc.reason).toMatch(/^webgpu: self-test passed/);
      expect(pc.selfTest!.maxAbsDiff).toBeLessThanOrEqual(1e-3);
      expect(g1.info.tiles).toBe(2);
      expect(g1.info.calls).toBe(4);
      expect([g1.width, g1.height]).toEqual([96, 64]);

      const [a, b, c] = await Promise.all([raw(cpu.outputPath), raw(g1.outputPath), raw(g2.outputPath)]);
      expect(b.length).toBe(a.length);
      let max = 0;
      let sum = 0;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i] - b[i]);
        max = Math.max(max, d);
        sum += d;
      }
      console.info(`webgpu vs cpu restore: max ${max} levels, mean ${(sum / a.length).toFixed(4)}`);
      expect(max).toBeLessThanOrEqual(IMAGE_MAX_LEVELS);
      expect(sum / a.length).toBeLessThan(IMAGE_MEAN_LEVELS);
      // Determinism: same provider, same machine, same request → same bytes.
      expect(Buffer.compare(b, c)).toBe(0);
      expect(fs.readFileSync(g1.outputPath).equals(fs.readFileSync(g2.outputPath))).toBe(true);
    }, 240_000);

    it('portrait runs its models on the chosen provider too (it used to run on the CPU whatever the setting)', async () => {
      // Same host, so the tiny-x4 webgpu session of the test above is reused; no face in this picture, so the
      // natural background is the model that runs, and the result must say it ran on webgpu.
      const req = request('portrait-webgpu', 'webgpu');
      const r: RestoreOutcome = await client.run(4, { ...req, params: { ...req.params, method: 'portrait' } });
      expect(r.method).toBe('portrait');
      expect(r.info.provider).toBe('webgpu');
      expect((r.info.providerChoice as ProviderChoice).provider).toBe('webgpu');
      const pi = r.info.portrait as { background: string; provider: string; backgroundProvider: string | null };
      expect(pi.background).toBe('tiny-x4');
      expect(pi.provider).toBe('webgpu');
      expect(pi.backgroundProvider).toBe('webgpu');
    }, 240_000);

    it.skipIf(!hasShared)(`an auto restore that finds a face runs the face model on the chosen provider too${hasShared ? '' : ` (skipped: ${sharedSkipReason})`}`, async () => {
      // A 32 px face (faces/val) on a plain 96² ground: the detector finds it and, over a Lanczos background
      // (only the face package installed), the face model restores it. The face pass must say webgpu.
      const faceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-webgpu-face-'));
      fs.symlinkSync(path.join(MODELS, 'tiny-face-x8'), path.join(faceDir, 'tiny-face-x8'));
      const photo = path.join(dir, 'face.png');
      const face = await sharp(path.join(SHARED_DATA, 'faces/val/00003.png')).resize(32, 32).removeAlpha().png().toBuffer();
      await sharp({ create: { width: 96, height: 96, channels: 3, background: '#807060' } }).composite([{ input: face, left: 32, top: 32 }]).png().toFile(photo);
      const r: RestoreOutcome = await client.run(5, {
        input: photo,
        output: path.join(dir, 'auto-face-webgpu.png'),
        params: { scale: 2, method: 'auto', sampler: 'ddim:2', fidelity: 0.5, seed: 7 },
        format: 'png',
        modelDirs: [faceDir],
        threads: 1,
        provider: 'webgpu',
      });
      expect(r.method).toBe('portrait');
      expect(r.info.autoFaces).toMatchObject({ found: 1, restorable: 1, picked: 'portrait' });
      const pi = r.info.portrait as { background: string; faceModel: string; faces: { restored: boolean }[]; faceProvider: string | null; backgroundProvider: string | null };
      expect(pi.background).toBe('lanczos');
      expect(pi.faceModel).toBe('tiny-face-x8');
      expect(pi.faces.map((f) => f.restored)).toEqual([true]);
      expect(pi.backgroundProvider).toBeNull();
      expect(pi.faceProvider).toBe('webgpu');
      expect(r.info.provider).toBe('webgpu');
      expect(r.info.providerChoice as ProviderChoice).toMatchObject({ setting: 'webgpu', provider: 'webgpu' });
    }, 240_000);
  });
});
