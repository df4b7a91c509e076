/**
 * The denoiser precision choice (src/engine/catalogue.ts): parsePrecisionSetting, int8GateFailure and
 * resolvePrecision as pure functions on cards, and openModel opening the file the choice names, cached
 * per precision (a copy of the tiny fixture whose "int8" denoiser is a copy of its float one: the
 * routing is what is tested here; test/integration/engine-int8.test.ts runs the shipped int8 network).
 */
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelCard } from '../../src/shared/card';

const ortState = vi.hoisted(() => ({ creates: [] as string[] }));
vi.mock('onnxruntime-node', async (importOriginal) => {
  const real = await importOriginal<typeof import('onnxruntime-node')>();
  const create = (path: string, opts?: unknown) => {
    ortState.creates.push(path);
    return real.InferenceSession.create(path, opts as never);
  };
  return { ...real, InferenceSession: { create }, default: { ...real, InferenceSession: { create } } };
});

const FIX = new URL('../fixtures/models/', import.meta.url).pathname;
const base = ModelCard.parse(JSON.parse(readFileSync(join(FIX, 'tiny-x4', 'card.json'), 'utf8')));
const passing = { dPsnr: -0.008, dNiqe: -0.0, gate: 'within 0.05 dB PSNR and 0.05 NIQE of the float denoiser (mean over the set): passed' };
const card = (int8: Record<string, unknown> | null, file: string | null = 'denoiser-int8.onnx'): ModelCard => ({
  ...base,
  metrics: { ...base.metrics, ...(int8 ? { int8 } : {}) },
  files: { ...base.files, ...(file ? { denoiserInt8: file } : {}) },
});

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'daguerre-precision-'));
  for (const [id, int8] of [
    ['q-pass', passing],
    ['q-fail', { ...passing, dPsnr: -0.284 }],
  ] as const) {
    const dir = join(root, id);
    cpSync(join(FIX, 'tiny-x4'), dir, { recursive: true });
    copyFileSync(join(dir, 'denoiser.onnx'), join(dir, 'denoiser-int8.onnx'));
    const c = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8'));
    c.id = id;
    c.files.denoiserInt8 = 'denoiser-int8.onnx';
    c.metrics = { ...c.metrics, int8 };
    writeFileSync(join(dir, 'card.json'), JSON.stringify(c));
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('precision setting', () => {
  it('parses auto | fp32 | int8 (absent: auto) and names the values on anything else', async () => {
    const { parsePrecisionSetting } = await import('../../src/engine/catalogue');
    expect(parsePrecisionSetting(undefined)).toBe('auto');
    expect(parsePrecisionSetting(' INT8 ')).toBe('int8');
    expect(parsePrecisionSetting('fp32')).toBe('fp32');
    expect(parsePrecisionSetting('float32')).toBe('fp32');
    expect(() => parsePrecisionSetting('fp16')).toThrow('unknown precision "fp16" (use one of auto, fp32, int8)');
  });

  it("the int8 gate per the card: deltas within ±0.05 dB PSNR and ±0.05 NIQE, and a gate text that does not say it failed", async () => {
    const { int8GateFailure } = await import('../../src/engine/catalogue');
    expect(int8GateFailure(card(passing))).toBeNull();
    expect(int8GateFailure(card({ ...passing, dPsnr: 0.05, dNiqe: -0.05 }))).toBeNull(); // the edge is inside
    expect(int8GateFailure(card(passing, null))).toMatch(/no int8 denoiser/);
    expect(int8GateFailure(card(null))).toMatch(/no int8 quality deltas/);
    expect(int8GateFailure(card({ dPsnr: '-0.01', dNiqe: 0 }))).toMatch(/no dPsnr and dNiqe/);
    expect(int8GateFailure(card({ ...passing, dPsnr: -0.284 }))).toMatch(/ΔPSNR -0.284 dB is outside/);
    expect(int8GateFailure(card({ ...passing, dNiqe: 0.098 }))).toMatch(/ΔNIQE 0.098 is outside/);
    expect(int8GateFailure(card({ ...passing, gate: 'fails (NIQE)' }))).toMatch(/failed its gate/);
  });

  it('auto = int8 on the cpu for a package whose int8 denoiser passed; fp32 otherwise and always on another provider; int8 = the file wherever there is one, on the cpu', async () => {
    const { resolvePrecision } = await import('../../src/engine/catalogue');
    const r = (s: Parameters<typeof resolvePrecision>[0], c: ModelCard, p = 'cpu') => resolvePrecision(s, c, p).precision;
    const ok = card(passing);
    const failed = card({ ...passing, dNiqe: -1.313 });
    const none = card(null, null);
    expect(r('auto', ok)).toBe('int8');
    expect(r('auto', failed)).toBe('fp32');
    expect(r('auto', none)).toBe('fp32');
    expect(r('auto', ok, 'webgpu')).toBe('fp32');
    expect(r('auto', ok, 'cuda')).toBe('fp32');
    expect(r('fp32', ok)).toBe('fp32');
    expect(r(undefined, ok)).toBe('fp32'); // no setting: fp32, as before the setting existed
    expect(r(null, ok)).toBe('fp32');
    expect(r('int8', ok)).toBe('int8');
    expect(r('int8', failed)).toBe('int8'); // asked for explicitly: the gate is the user's call
    expect(r('int8', none)).toBe('fp32');
    expect(r('int8', ok, 'webgpu')).toBe('fp32');
    // the decision says why, and what was asked
    expect(resolvePrecision('auto', ok, 'cpu')).toEqual({ setting: 'auto', precision: 'int8', reason: 'auto: int8 on the cpu (its card: ΔPSNR -0.008 dB, ΔNIQE 0, within the ±0.05 gate)' });
    expect(resolvePrecision('auto', ok, 'webgpu')).toMatchObject({ setting: 'auto', precision: 'fp32', reason: 'auto: fp32 on webgpu (int8 denoisers run on the cpu provider only)' });
    expect(resolvePrecision('int8', none, 'cpu')).toMatchObject({ precision: 'fp32', reason: 'int8: tiny-x4 has no int8 denoiser, fp32' });
    expect(resolvePrecision(undefined, ok, 'cpu').setting).toBeNull();
  });

  it('openModel opens the file the choice names; the session cache is keyed by precision too', async () => {
    const { openModel, session, sessionKey } = await import('../../src/engine/catalogue');
    const dir = join(root, 'q-pass');
    expect(sessionKey(dir, { threads: 1 })).toBe(sessionKey(dir, { threads: 1, precision: 'fp32' }));
    expect(sessionKey(dir, { threads: 1, precision: 'int8' })).not.toBe(sessionKey(dir, { threads: 1, precision: 'fp32' }));
    const opened = (from: number) => ortState.creates.slice(from).map((p) => basename(p));

    let n = ortState.creates.length;
    const fp = await openModel(dir, { threads: 1 }); // no setting: fp32
    expect(fp.precision).toMatchObject({ setting: null, precision: 'fp32' });
    expect(fp.model.precision).toBe('fp32');
    expect(opened(n)).toEqual(['denoiser.onnx', 'policy.onnx']);

    n = ortState.creates.length;
    const auto = await openModel(dir, { threads: 1, precision: 'auto' });
    expect(auto.precision).toMatchObject({ setting: 'auto', precision: 'int8' });
    expect(auto.model.precision).toBe('int8');
    expect(auto.model).not.toBe(fp.model);
    expect(opened(n)).toEqual(['denoiser-int8.onnx', 'policy.onnx']);
    // the same resolved precision is the same cached session, whichever setting led to it
    n = ortState.creates.length;
    expect((await openModel(dir, { threads: 1, precision: 'int8' })).model).toBe(auto.model);
    expect((await openModel(dir, { threads: 1, precision: 'fp32' })).model).toBe(fp.model);
    expect((await session(dir, { threads: 1, precision: 'int8' }))).toBe(auto.model);
    expect(opened(n)).toEqual([]);

    // a package whose int8 denoiser failed its gate: auto keeps fp32 (the cached float session)
    const failDir = join(root, 'q-fail');
    const f1 = await openModel(failDir, { threads: 1, precision: 'auto' });
    expect(f1.precision.precision).toBe('fp32');
    expect(f1.precision.reason).toMatch(/^auto: int8 ΔPSNR -0.284 dB is outside the ±0.05 dB gate, fp32$/);
    expect((await openModel(failDir, { threads: 1, precision: 'int8' })).model.precision).toBe('int8');

    // a package without an int8 file: int8 asked runs fp32 and says so
    const plain = await openModel(join(FIX, 'tiny-x4'), { threads: 1, precision: 'int8' });
    expect(plain.model.precision).toBe('fp32');
    expect(plain.precision.reason).toBe('int8: tiny-x4 has no int8 denoiser, fp32');
  });

  it("settings: precision defaults to 'auto', takes fp32 and int8, refuses anything else", async () => {
    const { memorySettingsStore } = await import('../../src/main/settings');
    const st = memorySettingsStore();
    expect(st.get().precision).toBe('auto');
    expect(st.set({ precision: 'int8' }).precision).toBe('int8');
    expect(st.set({ precision: 'fp32' }).precision).toBe('fp32');
    expect(() => st.set({ precision: 'fp16' as never })).toThrow();
    expect(st.get().precision).toBe('fp32');
    // a settings file from before the setting existed, or with a bad value: the default
    expect(memorySettingsStore({ precision: 'half' as never }).get().precision).toBe('auto');
  });

  it('loadModel with precision int8 on a card without files.denoiserInt8 is a ModelError naming the package', async () => {
    const { loadModel } = await import('../../src/engine/diffusion/models');
    await expect(loadModel(join(FIX, 'tiny-x4'), { threads: 1, precision: 'int8' })).rejects.toThrow('model "tiny-x4": the card names no int8 denoiser (files.denoiserInt8)');
  });
});
