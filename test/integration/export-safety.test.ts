import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { createCore, type Core } from '../../src/main/core';
import { memorySettingsStore } from '../../src/main/settings';
import { tmpDir } from '../helpers/shared-data';
import type { Job } from '../../src/shared/types';
import { waitJobFinished } from '../helpers/core';

const cores: Core[] = [];
afterAll(async () => {
  for (const c of cores) await c.close();
});

describe('results.export safety (issue 14 item 2)', () => {
  it('never writes over any imported original or an existing file without overwrite', async () => {
    const dir = tmpDir('daguerre-exp-');
    await sharp({ create: { width: 24, height: 20, channels: 3, background: '#c03020' } }).png().toFile(path.join(dir, 'a.png'));
    await sharp({ create: { width: 24, height: 20, channels: 3, background: '#2040c0' } }).png().toFile(path.join(dir, 'b.png'));
    const core = await createCore({ dataDir: tmpDir(), modelDirs: [], settings: memorySettingsStore({ threads: 1 }), grantedRoots: [dir] });
    cores.push(core);
    const imp = (await core.dispatch('library.import', { paths: [path.join(dir, 'a.png'), path.join(dir, 'b.png')] })) as { value: { imported: { id: number; path: string }[] } };
    const [a, b] = imp.value.imported;
    const enq = (await core.dispatch('jobs.enqueue', { photoIds: [a.id], params: { scale: 2, method: 'bicubic', fidelity: 0.5, seed: 1 } })) as { value: { jobs: Job[] } };
    const fin = await waitJobFinished(core, enq.value.jobs[0].id, 60_000);
    const rid = fin.result!.id;
    const before = fs.readFileSync(b.path);
    const exp = (p: string, extra = {}) => core.dispatch('results.export', { id: rid, path: p, format: 'png', ...extra });

    const onB = await exp(b.path, { overwrite: true });
    expect(onB.ok).toBe(false);
    fs.symlinkSync(b.path, path.join(dir, 'link.png'));
    const viaLink = await exp(path.join(dir, 'link.png'), { overwrite: true });
    expect(viaLink.ok).toBe(false);
    expect(fs.readFileSync(b.path).equals(before)).toBe(true);

    fs.writeFileSync(path.join(dir, 'other.png'), 'keep me');
    const noOver = await exp(path.join(dir, 'other.png'));
    expect(noOver.ok || noOver.error.message).toContain('exists; choose another name or allow overwrite');
    expect(fs.readFileSync(path.join(dir, 'other.png'), 'utf8')).toBe('keep me');
    const over = await exp(path.join(dir, 'other.png'), { overwrite: true });
    expect(over.ok).toBe(true);
    expect((await sharp(path.join(dir, 'other.png')).metadata()).width).toBe(48);

    fs.mkdirSync(path.join(dir, 'sub.png'));
    const toDir = await exp(path.join(dir, 'sub.png'), { overwrite: true });
    expect(!toDir.ok && toDir.error.code).toBe('BAD_ARGS');
    const nul = await exp(path.join(dir, 'x\0.png'));
    expect(!nul.ok && nul.error.code).toBe('BAD_ARGS');
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 90_000);
});
