/**
 * The model catalogue (src/engine/catalogue.ts): a listing reads cards only (no onnxruntime, no session),
 * what each method resolves to, and the one session cache keyed by (dir, threads, provider).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// onnxruntime-node with a counted InferenceSession.create; `loaded` says whether anything imported it at all.
const ortState = vi.hoisted(() => ({ loaded: false, creates: [] as string[] }));
vi.mock('onnxruntime-node', async (importOriginal) => {
  ortState.loaded = true;
  const real = await importOriginal<typeof import('onnxruntime-node')>();
  const create = (path: string, opts?: unknown) => {
    ortState.creates.push(path);
    return real.InferenceSession.create(path, opts as never);
  };
  return { ...real, InferenceSession: { create }, default: { ...real, InferenceSession: { create } } };
});

const FIX = new URL('../fixtures/models/', import.meta.url).pathname;
const BLIND = join(FIX, 'face-blind');
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'daguerre-catalogue-'));
  cpSync(join(FIX, 'tiny-face-x8'), join(root, 'broken-face'), { recursive: true });
  const card = JSON.parse(readFileSync(join(root, 'broken-face', 'card.json'), 'utf8'));
  card.id = 'broken-face';
  card.files.denoiser = 'gone.onnx';
  writeFileSync(join(root, 'broken-face', 'card.json'), JSON.stringify(card));
  cpSync(join(FIX, 'tiny-face-x8'), join(root, 'corrupt-x8'), { recursive: true });
  const c2 = JSON.parse(readFileSync(join(root, 'corrupt-x8', 'card.json'), 'utf8'));
  c2.id = 'corrupt-x8';
  writeFileSync(join(root, 'corrupt-x8', 'card.json'), JSON.stringify(c2));
  writeFileSync(join(root, 'corrupt-x8', 'denoiser.onnx'), 'not an onnx file');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('model catalogue', () => {
  it('lists the packages and resolves methods from their cards without loading onnxruntime or opening a session', async () => {
    const { Catalogue, listPackages } = await import('../../src/engine/catalogue');
    const list = listPackages([FIX, BLIND, root]);
    expect(list.map((m) => [m.id, m.ok])).toEqual([
      ['tiny-face-x8', true],
      ['tiny-x4', true],
      ['tiny-face-blind', true],
      ['broken-face', false],
      ['corrupt-x8', true], // its ONNX is checked when a session opens
    ]);
    expect(list.find((m) => m.id === 'broken-face')!.error).toMatch(/model "broken-face": denoiser file gone.onnx is missing/);
    const cat = Catalogue.of(list);
    cat.resolveMethod('auto', 4);
    cat.portrait({ scale: 4 });
    cat.byId('tiny-x4');
    expect(ortState.loaded).toBe(false);
    expect(ortState.creates).toEqual([]);
  });

  it("resolves 'auto', 'portrait', a model id, an unknown id (naming the available ones) and the package for a scale", async () => {
    const { Catalogue, resolveMethod } = await import('../../src/engine/catalogue');
    const cat = Catalogue.list([FIX]);
    // auto: the natural package for the scale (tiny-x4 serves ×4, ×2; ×8 by two passes), else Lanczos.
    expect(cat.resolveMethod('auto', 4)).toBe('tiny-x4');
    expect(cat.resolveMethod('auto', 8)).toBe('tiny-x4');
    expect(cat.resolveMethod('auto', 3)).toBe('lanczos');
    expect(cat.resolveMethod('bicubic', 4)).toBe('bicubic');
    expect(resolveMethod('auto', 4, [join(root, 'none')])).toBe('lanczos');
    expect(cat.naturalFor(2, true)?.id).toBe('tiny-x4');
    // portrait: natural background + face package by card task, 'face-blind' preferred over 'face'.
    expect(cat.portrait({ scale: 4 })).toMatchObject({ natural: { id: 'tiny-x4' }, face: { id: 'tiny-face-x8' } });
    const withBlind = Catalogue.list([FIX, BLIND]);
    expect(withBlind.portrait({ scale: 2 }).face?.id).toBe('tiny-face-blind');
    expect(withBlind.portrait({ scale: 2, faceModel: 'tiny-face-x8' }).face?.id).toBe('tiny-face-x8');
    expect(withBlind.portrait({ scale: 2, backgroundModel: 'lanczos' }).natural).toBeNull();
    expect(Catalogue.list([BLIND]).portrait({ scale: 4 })).toMatchObject({ natural: null, face: { id: 'tiny-face-blind' } });
    expect(Catalogue.list([join(FIX, 'none')]).portrait({ scale: 4 })).toEqual({ natural: null, face: null });
    // a model id
    expect(cat.byId('tiny-face-x8').dir).toBe(join(FIX, 'tiny-face-x8'));
    // an unknown id: the error names what is available; a broken package says why
    expect(() => cat.byId('natural-x9')).toThrow('natural-x9: unknown method or model "natural-x9" (available: auto, portrait, bicubic, lanczos, tiny-face-x8, tiny-x4)');
    expect(() => Catalogue.list([join(FIX, 'none')]).byId('x')).toThrow('(available: auto, bicubic, lanczos)');
    expect(() => Catalogue.list([root]).byId('broken-face')).toThrow(/model "broken-face" is broken: .*gone.onnx is missing/);
    // the package of a task for a scale
    expect(cat.forScale('natural', 2)?.id).toBe('tiny-x4');
    expect(cat.forScale('face', 8)?.id).toBe('tiny-face-x8');
    expect(cat.forScale('face', 3)).toBeNull();
    expect(cat.forScale('face-blind', 1)).toBeNull();
  });

  it('one session cache keyed by (dir, threads, provider); the providers self-test reuses its sessions', async () => {
    const { openModel, session, sessionKey } = await import('../../src/engine/catalogue');
    const dir = join(FIX, 'tiny-x4');
    expect(sessionKey(dir + '/', { threads: 1 })).toBe(sessionKey(dir, { threads: 1, provider: 'cpu' }));
    expect(sessionKey(dir, { threads: 1, provider: 'cpu' })).not.toBe(sessionKey(dir, { threads: 2, provider: 'cpu' }));
    expect(sessionKey(dir, { threads: 1, provider: 'cpu' })).not.toBe(sessionKey(dir, { threads: 1, provider: 'webgpu' }));
    expect(sessionKey(dir, { threads: 1 })).not.toBe(sessionKey(join(FIX, 'tiny-face-x8'), { threads: 1 }));

    const before = ortState.creates.length;
    const a = await session(dir, { threads: 1 });
    expect(ortState.creates.length - before).toBe(2); // denoiser + policy: the spy sees real opens
    expect(ortState.loaded).toBe(true);
    expect(await session(dir, { threads: 1, provider: 'cpu' })).toBe(a);
    const b = await session(dir, { threads: 2 });
    expect(b).not.toBe(a);
    expect(b.threads).toBe(2);
    expect(ortState.creates.length - before).toBe(4);
    // openModel: no setting = cpu without a self-test; 'cpu' = the cpu decision; both the cached session.
    const plain = await openModel(dir, { threads: 1 });
    expect(plain.model).toBe(a);
    expect(plain.choice).toBeNull();
    const cpu = await openModel(dir, { threads: 1, provider: 'cpu' });
    expect(cpu.model).toBe(a);
    expect(cpu.choice?.provider).toBe('cpu');
    // The self-test's CPU reference comes from the same cache: no new session.
    const { runSelfTest } = await import('../../src/engine/providers');
    expect((await runSelfTest('cpu', dir, { threads: 1 })).ok).toBe(true);
    expect(ortState.creates.length - before).toBe(4);
    // A package whose ONNX cannot be opened: one line naming it.
    await expect(openModel(join(root, 'corrupt-x8'), { threads: 1 })).rejects.toThrow(/^corrupt-x8: model "corrupt-x8" is broken: model "corrupt-x8": cannot open denoiser.onnx/);
  });
});
