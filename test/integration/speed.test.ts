/**
 * The knob panel's speed through the real Core: models.list gives the card's reference speed until a
 * diffusion job (a preview counts) has run, then this computer's measured one, kept in the settings file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { createCore, type Core } from '../../src/main/core';
import { nodeSettingsStore } from '../../src/main/settings';
import { tmpDir } from '../helpers/shared-data';
import type { Job, ModelInfo, Result } from '../../src/shared/types';
import { waitJobFinished } from '../helpers/core';

const fixtureModels = path.resolve(__dirname, '../fixtures/models');
let photosDir: string;
let modelsDir: string;
let dataDir: string;
const cores: Core[] = [];

async function makeCore(): Promise<Core> {
  const core = await createCore({ dataDir, modelDirs: [modelsDir], settings: await nodeSettingsStore(dataDir), grantedRoots: [photosDir] });
  cores.push(core);
  return core;
}

const waitFinished = (core: Core, jobId: number, ms = 100_000) => waitJobFinished(core, jobId, ms);

async function model(core: Core, id: string): Promise<ModelInfo> {
  const r = await core.dispatch('models.list', {});
  if (!r.ok) throw new Error(JSON.stringify(r));
  return (r.value as ModelInfo[]).find((m) => m.id === id)!;
}

beforeAll(async () => {
  photosDir = tmpDir('daguerre-speed-photos-');
  dataDir = tmpDir('daguerre-speed-lib-');
  // tiny-x4 with a reference speed on its card; tiny-face-x8 without one.
  modelsDir = tmpDir('daguerre-speed-models-');
  for (const id of ['tiny-x4', 'tiny-face-x8']) fs.cpSync(path.join(fixtureModels, id), path.join(modelsDir, id), { recursive: true });
  const cardPath = path.join(modelsDir, 'tiny-x4', 'card.json');
  const card = JSON.parse(fs.readFileSync(cardPath, 'utf8'));
  card.metrics = { ...(card.metrics ?? {}), msPerCall128: 987 };
  fs.writeFileSync(cardPath, JSON.stringify(card, null, 2));
  const noise = Buffer.from(Array.from({ length: 48 * 40 * 3 }, (_, i) => (i * 7919) % 251));
  await sharp(noise, { raw: { width: 48, height: 40, channels: 3 } }).png().toFile(path.join(photosDir, 'noise.png'));
});

afterAll(async () => {
  while (cores.length) await cores.pop()!.close();
});

describe('measured denoiser speed', () => {
  it('models.list: the card until a job ran, then the speed measured here, kept across a restart', async () => {
    const core = await makeCore();
    await core.dispatch('settings.set', { patch: { threads: 1 } });
    expect(await model(core, 'tiny-x4')).toMatchObject({ msPerCall128: 987, msPerCall128Source: 'card', msPerCall128Cpu: 987, msPerCall128CpuSource: 'card' });
    expect(await model(core, 'tiny-face-x8')).toMatchObject({ msPerCall128: null, msPerCall128Source: null });

    const imp = await core.dispatch('library.import', { paths: [path.join(photosDir, 'noise.png')] });
    const id = (imp as { value: { imported: { id: number }[] } }).value.imported[0].id;
    // A preview region (it counts like a full restore).
    const r = await core.dispatch('jobs.enqueue', { photoIds: [id], params: { scale: 4, method: 'tiny-x4', fidelity: 0.5, seed: 3, region: { x: 0, y: 0, w: 40, h: 32 } } });
    const job = (r as { value: { jobs: Job[] } }).value.jobs[0];
    expect(job.kind).toBe('preview');
    const { job: done, result } = await waitFinished(core, job.id);
    expect(done.state).toBe('done');
    const info = result!.info as { provider: string; calls: number; calls128: number; msSampling: number };
    // 160×128 output on 64² tiles with overlap 16: 3 × 3 tiles of a quarter of 128² each.
    expect(info.calls128).toBeCloseTo((info.calls * 64 * 64) / (128 * 128));
    expect(info.calls128).toBeGreaterThanOrEqual(8);

    const want = info.msSampling / info.calls128;
    const m = await model(core, 'tiny-x4');
    expect(m.msPerCall128Source).toBe('measured');
    expect(m.msPerCall128).toBeCloseTo(want, 1);
    // the (provider, precision) setting pair remembers its run: auto | auto (the default precision) -> what ran
    expect(core.settings.get().precision).toBe('auto');
    expect(core.settings.getSpeed().resolved['tiny-x4|auto|auto']).toBe(info.provider); // tiny-x4 has no int8: fp32
    if (info.provider === 'cpu') expect(m).toMatchObject({ msPerCall128Cpu: m.msPerCall128, msPerCall128CpuSource: 'measured' });
    // Not a setting: the renderer's settings never carry it.
    const s = await core.dispatch('settings.get', {});
    expect(Object.keys((s as { value: object }).value)).not.toContain('measuredSpeed');
    // Another provider setting has no measurement yet: back to the card for it.
    const other = info.provider === 'cpu' ? 'webgpu' : 'cpu';
    await core.dispatch('settings.set', { patch: { provider: other } });
    expect(await model(core, 'tiny-x4')).toMatchObject({ msPerCall128: 987, msPerCall128Source: 'card' });
    await core.dispatch('settings.set', { patch: { provider: 'auto' } });
    await core.close();
    cores.pop();

    const again = await makeCore();
    expect(await model(again, 'tiny-x4')).toMatchObject({ msPerCall128: m.msPerCall128, msPerCall128Source: 'measured' });
  });
});
