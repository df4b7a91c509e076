/**
 * Execution-provider selection without a GPU: what the build offers, batch sizes, and the fallback to
 * the CPU with a one-line reason when a provider is not in this onnxruntime build (cuda, or dml on
 * Linux). Runs in-process on the CPU only (fast); the WebGPU path itself is in gpu-webgpu.test.ts.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import {
  availableProviders,
  batchFor,
  BATCH_LIMITS,
  clearProviderCache,
  parseProviderSetting,
  providerOffers,
  selectProvider,
  shortError,
} from '../../src/engine/providers';
import { runRestore } from '../../src/engine/restore';
import { formatDoctor, runDoctor } from '../../src/cli/commands/doctor';

const MODELS = path.resolve(__dirname, '../fixtures/models');
const TINY = path.join(MODELS, 'tiny-x4');
const cudaInstalled = providerOffers().find((o) => o.name === 'cuda')?.offered ?? false;
const oneLine = (s: string) => expect(s).not.toMatch(/\n/);

describe('providers offered', () => {
  it('cpu is always offered and last; the list follows the auto order', () => {
    const a = availableProviders();
    expect(a[a.length - 1]).toBe('cpu');
    const order = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'];
    expect([...a].sort((x, y) => order.indexOf(x) - order.indexOf(y))).toEqual(a);
  });

  it('per platform: dml only on Windows, coreml only on macOS', () => {
    expect(availableProviders('linux')).not.toContain('dml');
    expect(availableProviders('linux')).not.toContain('coreml');
    expect(availableProviders('darwin')).not.toContain('dml');
    expect(providerOffers('linux').find((o) => o.name === 'dml')!.note).toBe('not available on linux');
    if (process.platform === 'linux' && process.arch === 'x64') expect(availableProviders()).toContain('webgpu');
  });

  it('parses settings and rejects unknown ones with the valid names', () => {
    expect(parseProviderSetting('DirectML')).toBe('dml');
    expect(parseProviderSetting(undefined)).toBe('auto');
    expect(parseProviderSetting('WebGPU')).toBe('webgpu');
    expect(() => parseProviderSetting('tpu')).toThrow(/auto, cpu, webgpu, dml, coreml, cuda/);
  });

  it('batch: cpu keeps 4 tiles of 128², GPUs take more, all bounded by batch × tile area', () => {
    expect(batchFor('cpu', 64)).toBe(4);
    expect(batchFor('cpu', 128)).toBe(4);
    expect(batchFor('cpu', 256)).toBe(1);
    expect(batchFor('webgpu', 128)).toBe(8);
    expect(batchFor('cuda', 256)).toBe(16);
    expect(batchFor('webgpu', 1024)).toBe(1);
    for (const [p, l] of Object.entries(BATCH_LIMITS))
      for (const t of [64, 128, 256, 512]) {
        const b = batchFor(p as keyof typeof BATCH_LIMITS, t);
        expect(b).toBeGreaterThanOrEqual(1);
        expect(b === 1 || b * t * t <= l.maxPixels).toBe(true);
      }
  });

  it('shortens onnxruntime errors to the reason', () => {
    const e = new Error('/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(...)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\n');
    expect(shortError(e)).toBe('Failed to get a WebGPU adapter: No supported adapters');
  });
});

describe('fallback to the CPU', () => {
  it.skipIf(cudaInstalled)('cuda (not installed) falls back to cpu with a one-line reason', async () => {
    const c = await selectProvider('cuda', TINY, { threads: 1 });
    expect(c.provider).toBe('cpu');
    expect(c.setting).toBe('cuda');
    expect(c.reason).toMatch(/^cuda unavailable, using cpu: cuda: not available in this onnxruntime build/);
    oneLine(c.reason);
    expect(c.selfTest).toBeNull();
    expect(c.batch).toBe(4);
  });

  it.skipIf(process.platform === 'win32')('dml off Windows falls back to cpu with a one-line reason', async () => {
    const c = await selectProvider('dml', TINY, { threads: 1 });
    expect(c.provider).toBe('cpu');
    expect(c.reason).toMatch(/^dml unavailable, using cpu: dml: not available/);
    oneLine(c.reason);
  });

  it('auto with only the cpu offered picks cpu and says why; cpu needs no self-test', async () => {
    const c = await selectProvider('auto', TINY, { threads: 1, offered: ['cpu'] });
    expect(c).toMatchObject({ provider: 'cpu', selfTest: null, tried: [] });
    expect(c.reason).toBe('using cpu: no GPU provider in this onnxruntime build (offered: cpu)');
    const cpu = await selectProvider('cpu', TINY, { threads: 1 });
    expect(cpu.reason).toBe('cpu requested');
  });

  it('auto judges speed per tile at the batch each provider runs, not on one tile only', async () => {
    // What the H100 bench saw: webgpu loses on one 128² tile (9.6 vs 8.1 ms) but wins at its batch.
    const st = (ms: number, cpuMs: number) => ({ provider: 'webgpu' as const, ok: true, maxAbsDiff: 1.2e-6, tolerance: 1e-3, ms, firstMs: 800, cpuMs, loadMs: 50, tile: 64 });
    const calls: string[] = [];
    const timing = (gpu: number, cpu: number) => async (p: string, b: number) => (calls.push(`${p}x${b}`), p === 'webgpu' ? gpu : cpu);
    const base = { threads: 1, offered: ['webgpu', 'cpu'] as const, noCache: true };
    const win = await selectProvider('auto', TINY, { ...base, offered: [...base.offered], selfTests: { webgpu: st(9.6, 8.1) }, timePerTile: timing(1.4, 5.0) });
    expect(win.provider).toBe('webgpu');
    expect(win.reason).toMatch(/slower than the cpu on one tile .* but faster in batches \(1\.4 ms vs 5\.0 ms per tile at batch \d+ vs 4\)/);
    oneLine(win.reason);
    expect(calls).toEqual([`webgpux${batchFor('webgpu', 64)}`, 'cpux4']);

    const lose = await selectProvider('auto', TINY, { ...base, offered: [...base.offered], selfTests: { webgpu: st(9.6, 8.1) }, timePerTile: timing(6, 5) });
    expect(lose.provider).toBe('cpu');
    expect(lose.reason).toMatch(/^using cpu: webgpu: works but is slower than the cpu \(9\.6 ms vs 8\.1 ms per 64² step; 6\.0 ms vs 5\.0 ms per tile/);

    // A software adapter (hundreds of times slower on one tile) is not timed on a batch at all.
    calls.length = 0;
    const sw = await selectProvider('auto', TINY, { ...base, offered: [...base.offered], selfTests: { webgpu: st(3400, 12) }, timePerTile: timing(1, 5) });
    expect(sw.provider).toBe('cpu');
    expect(sw.reason).toMatch(/software adapter\?\)$/);
    expect(calls).toEqual([]);
  });

  it('decisions are cached per (model, setting)', async () => {
    clearProviderCache();
    const a = selectProvider('dml', TINY, { threads: 1 });
    expect(selectProvider('dml', TINY, { threads: 1 })).toBe(a);
    expect(selectProvider('cuda', TINY, { threads: 1 })).not.toBe(a);
    await a;
  });

  it.skipIf(cudaInstalled)('a restore asked to run on cuda runs on cpu and records the provider and the reason', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-fallback-'));
    const input = path.join(dir, 'in.png');
    const px = Buffer.alloc(16 * 16 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 251;
    await sharp(px, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(input);
    const out = await runRestore({
      input,
      output: path.join(dir, 'out.png'),
      params: { scale: 4, method: 'tiny-x4', sampler: 'ddim:2', fidelity: 0.5, seed: 1 },
      format: 'png',
      modelDirs: [MODELS],
      threads: 1,
      provider: 'cuda',
    });
    expect(out.info.provider).toBe('cpu');
    const pc = out.info.providerChoice as { setting: string; provider: string; reason: string };
    expect(pc).toMatchObject({ setting: 'cuda', provider: 'cpu' });
    expect(pc.reason).toMatch(/cuda/);
    expect(out.width).toBe(64);
  });
});

describe('daguerre doctor', () => {
  it('reports the platform, onnxruntime, the providers, the cpu self-test and step time, and what auto picks', async () => {
    const r = await runDoctor({ model: TINY, runs: '1', size: '64' });
    expect(r.onnxruntime.version).toMatch(/^1\.\d+\.\d+$/);
    expect(r.cpu.cores).toBeGreaterThan(0);
    expect(r.offered).toContain('cpu');
    expect(r.model).toMatchObject({ id: 'tiny-x4', tile: 64 });
    const cpu = r.results.find((x) => x.provider === 'cpu')!;
    expect(cpu.selfTest?.ok).toBe(true);
    expect(cpu.step?.medianMs).toBeGreaterThan(0);
    expect(cpu.step?.size).toBe(64);
    // Every offered provider got a row (working or with its one-line reason).
    expect(r.results.map((x) => x.provider).sort()).toEqual([...r.offered].sort());
    for (const x of r.results) if (!x.selfTest?.ok) expect((x.selfTest?.error ?? x.error ?? '').split('\n')).toHaveLength(1);
    expect(r.auto?.provider).toBeDefined();
    const text = formatDoctor(r);
    expect(text).toMatch(/^platform +/);
    expect(text).toMatch(/auto picks +\w+ — /);
  }, 120_000);
});
