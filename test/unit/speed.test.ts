/** Measured denoiser speed (src/main/speed.ts) and the estimate's tile count (src/renderer/estimate.ts). */
import { describe, expect, it } from 'vitest';
import {
  EMA_ALPHA,
  MAX_STEP_FACTOR,
  MIN_CALLS128,
  emptySpeedTable,
  measuredSpeed,
  parseSpeedTable,
  recordSamples,
  speedSamples,
  updateEstimate,
  withSpeed,
} from '../../src/main/speed';
import { memorySettingsStore } from '../../src/main/settings';
import { combineSources, knobFacts, onCpu, sourceNote, tileWork } from '../../src/renderer/estimate';
import { tileGrid } from '../../src/engine/diffusion/tiles';
import type { ModelInfo } from '../../src/shared/types';

const diffusionInfo = (o: Record<string, unknown> = {}) => ({
  modelId: 'natural-x4',
  info: { modelId: 'natural-x4', provider: 'cpu', providerChoice: { setting: 'auto', provider: 'cpu' }, calls: 400, calls128: 100, msSampling: 1500, msOnnx: 1200, ...o },
});

describe('speed samples from a result', () => {
  it('diffusion: sampling time over calls in 128² units, with the provider and the setting that chose it', () => {
    expect(speedSamples(diffusionInfo())).toEqual([{ modelId: 'natural-x4', provider: 'cpu', setting: 'auto', ms: 1500, calls128: 100 }]);
    expect(speedSamples(diffusionInfo({ provider: 'webgpu', providerChoice: { setting: 'webgpu' } }))[0]).toMatchObject({ provider: 'webgpu', setting: 'webgpu' });
  });

  it('ignores jobs with few calls, classic methods and results from before calls128 was recorded', () => {
    expect(speedSamples(diffusionInfo({ calls128: MIN_CALLS128 - 0.5 }))).toEqual([]);
    expect(speedSamples({ modelId: null, info: { provider: 'cpu' } })).toEqual([]);
    expect(speedSamples(diffusionInfo({ calls128: undefined }))).toEqual([]);
    expect(speedSamples(diffusionInfo({ msSampling: 0 }))).toEqual([]);
  });

  it('portrait: one sample for the background model and one for all restored faces, on the CPU', () => {
    const r = {
      modelId: 'face-x8',
      info: {
        provider: 'cpu',
        portrait: {
          background: 'natural-x4',
          faceModel: 'face-x8',
          backgroundCalls128: 50,
          msBackgroundSampling: 500,
          faces: [
            { restored: true, calls128: 12, msSampling: 120 },
            { restored: false, calls: 0 },
            { restored: true, calls128: 12, msSampling: 144 },
          ],
        },
      },
    };
    expect(speedSamples(r)).toEqual([
      { modelId: 'natural-x4', provider: 'cpu', ms: 500, calls128: 50 },
      { modelId: 'face-x8', provider: 'cpu', ms: 264, calls128: 24 },
    ]);
    // A Lanczos background teaches nothing.
    expect(speedSamples({ ...r, info: { ...r.info, portrait: { ...r.info.portrait, background: 'lanczos' } } }).map((s) => s.modelId)).toEqual(['face-x8']);
  });
});

describe('running estimate', () => {
  it('averages the first samples, then moves by EMA_ALPHA', () => {
    let e = updateEstimate(undefined, 10, 't');
    expect(e).toEqual({ ms: 10, n: 1, at: 't' });
    e = updateEstimate(e, 14, 't'); // mean of 10, 14
    expect(e.ms).toBeCloseTo(12);
    e = updateEstimate(e, 15, 't'); // mean of three
    expect(e.ms).toBeCloseTo(13);
    for (let i = 0; i < 10; i++) e = updateEstimate(e, 13, 't');
    const before = e.ms;
    e = updateEstimate(e, 17, 't');
    expect(e.ms).toBeCloseTo(before + EMA_ALPHA * (17 - before));
  });

  it('one outlier moves it only a little; a lasting change is followed', () => {
    let e = updateEstimate(undefined, 10, 't');
    for (let i = 0; i < 8; i++) e = updateEstimate(e, 10, 't');
    const spike = updateEstimate(e, 1000, 't');
    expect(spike.ms).toBeCloseTo(10 + EMA_ALPHA * (10 * MAX_STEP_FACTOR - 10));
    let g = e;
    for (let i = 0; i < 30; i++) g = updateEstimate(g, 2, 't'); // e.g. a GPU provider from now on
    expect(g.ms).toBeLessThan(2.1);
  });

  it('records per (model, provider) and remembers what a provider setting ran on', () => {
    let t = emptySpeedTable();
    t = recordSamples(t, speedSamples(diffusionInfo()), 'a');
    expect(t.entries['natural-x4|cpu']).toEqual({ ms: 15, n: 1, at: 'a' });
    expect(t.resolved['natural-x4|auto']).toBe('cpu');
    expect(measuredSpeed(t, 'natural-x4', 'auto')).toBe(15);
    expect(measuredSpeed(t, 'natural-x4', 'cpu')).toBe(15);
    expect(measuredSpeed(t, 'natural-x4', 'webgpu')).toBeNull();
    expect(measuredSpeed(t, 'face-x8', 'auto')).toBeNull();
    // webgpu asked, but it fell back to the CPU: the setting resolves to the cpu entry.
    const u = recordSamples(t, speedSamples(diffusionInfo({ providerChoice: { setting: 'webgpu' }, msSampling: 1700 })), 'b');
    expect(u.entries['natural-x4|cpu'].ms).toBeCloseTo(16);
    expect(measuredSpeed(u, 'natural-x4', 'webgpu')).toBeCloseTo(16);
    expect(t.entries['natural-x4|cpu'].ms).toBe(15); // inputs are not changed
  });

  it('int8 runs are their own speed (cpu+int8); a (provider, precision) setting pair remembers its run; old tables read as fp32', () => {
    const int8 = (o: Record<string, unknown> = {}) => diffusionInfo({ precision: { setting: 'auto', precision: 'int8', reason: 'gate passed' }, msSampling: 1000, ...o });
    expect(speedSamples(int8())).toEqual([{ modelId: 'natural-x4', provider: 'cpu+int8', setting: 'auto', precisionSetting: 'auto', ms: 1000, calls128: 100 }]);
    let t = recordSamples(emptySpeedTable(), speedSamples(diffusionInfo()), 'a'); // fp32: 15 ms, stored as before
    t = recordSamples(t, speedSamples(int8()), 'b'); // int8: 10 ms
    expect(t.entries['natural-x4|cpu'].ms).toBe(15); // not mixed
    expect(t.entries['natural-x4|cpu+int8'].ms).toBe(10);
    expect(t.resolved['natural-x4|auto|auto']).toBe('cpu+int8');
    expect(measuredSpeed(t, 'natural-x4', 'auto', 'auto')).toBe(10);
    expect(measuredSpeed(t, 'natural-x4', 'auto')).toBe(15); // fp32 (the old key)
    expect(measuredSpeed(t, 'natural-x4', 'cpu', 'int8')).toBe(10); // a concrete pair is its own run
    expect(measuredSpeed(t, 'natural-x4', 'webgpu', 'int8')).toBeNull(); // int8 runs only on the cpu: unknown until it ran
    expect(measuredSpeed(t, 'natural-x4', 'cpu', 'auto')).toBe(10); // not run as (cpu, auto): the int8 speed measured here
    expect(measuredSpeed(recordSamples(emptySpeedTable(), speedSamples(diffusionInfo()), 'a'), 'natural-x4', 'cpu', 'auto')).toBe(15); // else the float one
    // precision auto that ran fp32 (a package without int8) resolves to the fp32 entry
    const u = recordSamples(emptySpeedTable(), speedSamples(diffusionInfo({ precision: { setting: 'auto', precision: 'fp32' } })), 'c');
    expect(measuredSpeed(u, 'natural-x4', 'auto', 'auto')).toBe(15);
  });

  it('a damaged stored table reads as empty', () => {
    expect(parseSpeedTable(undefined)).toEqual(emptySpeedTable());
    expect(parseSpeedTable({ entries: { 'a|cpu': { ms: -1, n: 1, at: 'x' } }, resolved: {} })).toEqual(emptySpeedTable());
    expect(parseSpeedTable('nonsense')).toEqual(emptySpeedTable());
  });

  it('lives in the settings store beside the settings, not in them', () => {
    const s = memorySettingsStore({ threads: 2 });
    expect(s.getSpeed()).toEqual(emptySpeedTable());
    const t = recordSamples(emptySpeedTable(), speedSamples(diffusionInfo()), 'a');
    s.setSpeed(t);
    expect(s.getSpeed()).toEqual(t);
    expect(Object.keys(s.get())).not.toContain('measuredSpeed');
    s.set({ threads: 3 });
    expect(s.getSpeed()).toEqual(t);
  });
});

describe('models list speed', () => {
  const m: ModelInfo = { id: 'natural-x4', ok: true, task: 'natural' };
  it('measured first, else the card, else null; the CPU speed beside it', () => {
    const t = recordSamples(emptySpeedTable(), speedSamples(diffusionInfo()), 'a');
    expect(withSpeed(m, 10, t, 'auto')).toMatchObject({ msPerCall128: 15, msPerCall128Source: 'measured', msPerCall128Cpu: 15, msPerCall128CpuSource: 'measured' });
    expect(withSpeed(m, 10, t, 'webgpu')).toMatchObject({ msPerCall128: 10, msPerCall128Source: 'card', msPerCall128Cpu: 15, msPerCall128CpuSource: 'measured' });
    expect(withSpeed(m, null, emptySpeedTable(), 'cpu')).toMatchObject({ msPerCall128: null, msPerCall128Source: null });
    expect(withSpeed({ id: 'bad', ok: false, error: 'x' }, 10, t, 'cpu')).toEqual({ id: 'bad', ok: false, error: 'x' });
  });
});

describe('estimate', () => {
  const model: ModelInfo = { id: 'm', ok: true, knob: [[0, 2], [1, 40]], coarseSteps: 10, fixedStrideCalls: 10, msPerCall128: 10, msPerCall128Source: 'measured' };

  it('counts tiles like the engine, in 128² units', () => {
    for (const tile of [{ size: 128, overlap: 16, multiple: 16 }, { size: 64, overlap: 16, multiple: 4 }]) {
      for (const [w, h] of [[128, 128], [100, 60], [129, 300], [1024, 768], [1400, 1700], [64, 2000]]) {
        const g = tileGrid(w, h, tile);
        const want = (g.count * g.x.len * g.y.len) / (128 * 128);
        expect(tileWork({ tile }, w, h)).toEqual({ tiles: g.count, units128: want });
      }
    }
    expect(tileWork(undefined, 256, 300)).toEqual({ tiles: 6, units128: 6 });
  });

  it('time = tile units × calls × ms, with the source of the speed', () => {
    const f = knobFacts({ ...model, tile: { size: 128, overlap: 16, multiple: 16 } }, 'csa', 0, 1024, 1024);
    expect(f.tiles).toBe(81); // stride 112: 9 × 9
    expect(f.estMs).toBeCloseTo(81 * 10 * 10);
    expect(f.estSource).toBe('measured');
    expect(knobFacts({ ...model, msPerCall128Source: 'card' }, 'csa', 0, 256, 256).estSource).toBe('card');
    expect(knobFacts({ ...model, msPerCall128: null, msPerCall128Source: null }, 'csa', 0, 256, 256)).toMatchObject({ estMs: null, estSource: null });
  });

  it('portrait uses the CPU speed; sources combine', () => {
    const gpu: ModelInfo = { ...model, msPerCall128: 1, msPerCall128Source: 'measured', msPerCall128Cpu: 12, msPerCall128CpuSource: 'card' };
    expect(onCpu(gpu)).toMatchObject({ msPerCall128: 12, msPerCall128Source: 'card' });
    expect(onCpu(model)).toBe(model);
    expect(combineSources('measured', 'measured')).toBe('measured');
    expect(combineSources('card', null)).toBe('card');
    expect(combineSources('measured', 'card')).toBe('mixed');
    expect(combineSources(null)).toBeNull();
    expect(sourceNote('measured')).toBe('measured on this computer');
    expect(sourceNote('card')).toBe('reference machine');
  });
});
