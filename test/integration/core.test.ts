import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import * as zlib from 'node:zlib';
import { createCore, type Core } from '../../src/main/core';
import { memorySettingsStore } from '../../src/main/settings';
import { hasShared, SHARED_DATA, sharedSkipReason, tmpDir } from '../helpers/shared-data';
import type { Job, Result } from '../../src/shared/types';
import { waitJobFinished } from '../helpers/core';

const OLD = path.join(SHARED_DATA, 'real/old');
const LOWRES = path.join(SHARED_DATA, 'real/lowres');
let photosDir: string;

/** The first bytes of a PNG that claims width x height (valid signature and IHDR CRC, no pixels). */
function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const type = Buffer.from('IHDR');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(13);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([type, ihdr])) >>> 0);
  const idat = Buffer.from(zlib.deflateSync(Buffer.alloc(64)));
  const idatLen = Buffer.alloc(4);
  idatLen.writeUInt32BE(idat.length);
  const idatCrc = Buffer.alloc(4);
  idatCrc.writeUInt32BE(zlib.crc32(Buffer.concat([Buffer.from('IDAT'), idat])) >>> 0);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), len, type, ihdr, crc, idatLen, Buffer.from('IDAT'), idat, idatCrc]);
}
const cores: Core[] = [];

async function makeCore(dataDir = tmpDir(), extra: Partial<Parameters<typeof createCore>[0]> = {}): Promise<Core> {
  const core = await createCore({
    dataDir,
    modelDirs: [path.resolve(__dirname, '../fixtures/models')],
    settings: memorySettingsStore({ threads: 1 }),
    grantedRoots: [photosDir],
    ...extra,
  });
  cores.push(core);
  return core;
}

const waitFinished = (core: Core, jobId: number, ms = 60_000) => waitJobFinished(core, jobId, ms);

beforeAll(async () => {
  photosDir = tmpDir('daguerre-photos-');
  // Small generated photos, so the suite runs without ../shared too.
  for (const [name, color] of [['red.png', '#c03020'], ['green.jpg', '#20a040'], ['blue.webp', '#2040c0']] as const) {
    await sharp({ create: { width: 48, height: 40, channels: 3, background: color } }).toFile(path.join(photosDir, name));
  }
  fs.copyFileSync(path.join(photosDir, 'red.png'), path.join(photosDir, 'red-copy.png'));
  fs.writeFileSync(path.join(photosDir, 'empty.jpg'), '');
  const jpg = fs.readFileSync(path.join(photosDir, 'green.jpg'));
  fs.writeFileSync(path.join(photosDir, 'truncated.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
  fs.writeFileSync(path.join(photosDir, 'notes.png'), 'this is not an image');
  // A PNG header claiming 30000x30000.
  fs.writeFileSync(path.join(photosDir, 'huge.png'), pngHeader(30000, 30000));
});

afterEach(async () => {
  while (cores.length) await cores.pop()!.close();
});

describe('library', () => {
  it('imports by reference, finds duplicates by content, names each bad file and its reason', async () => {
    const core = await makeCore();
    const before = fs.readFileSync(path.join(photosDir, 'red.png'));
    const r = await core.dispatch('library.import', { paths: [photosDir] });
    expect(r.ok).toBe(true);
    const rep = (r as { value: { imported: { name: string }[]; duplicates: { path: string }[]; failed: { path: string; error: string }[] } }).value;
    // Folders are walked in name order: red-copy.png comes first, red.png is its duplicate.
    expect(rep.imported.map((p) => p.name).sort()).toEqual(['blue.webp', 'green.jpg', 'red-copy.png']);
    expect(rep.duplicates.map((d) => path.basename(d.path))).toEqual(['red.png']);
    const errs = Object.fromEntries(rep.failed.map((f) => [path.basename(f.path), f.error]));
    expect(errs['empty.jpg']).toMatch(/empty\.jpg: empty file/);
    expect(errs['truncated.jpg']).toMatch(/truncated\.jpg: corrupt or truncated/);
    expect(errs['notes.png']).toMatch(/notes\.png: (unsupported|corrupt)/);
    expect(errs['huge.png']).toMatch(/huge\.png: image is 30000×30000 \(900 MP\)/);
    for (const e of Object.values(errs)) expect(e.split('\n')).toHaveLength(1);
    // Originals untouched; thumbnails in the library folder.
    expect(fs.readFileSync(path.join(photosDir, 'red.png')).equals(before)).toBe(true);
    const list = await core.dispatch('library.list', { sort: 'name', desc: false });
    expect(list.ok && (list.value as { total: number }).total).toBe(3);
    const again = await core.dispatch('library.import', { paths: [path.join(photosDir, 'blue.webp')] });
    expect(again.ok && (again.value as { duplicates: unknown[] }).duplicates).toHaveLength(1);
  });

  it('a photo whose original moved is found again by content at its new place, results kept', async () => {
    const dir = tmpDir('daguerre-moved-');
    const core = await makeCore(undefined, { grantedRoots: [dir] });
    const first = path.join(dir, 'old-name.png');
    await sharp({ create: { width: 20, height: 16, channels: 3, background: '#7a5230' } }).png().toFile(first);
    const a = await core.dispatch('library.import', { paths: [first] });
    const id = (a as { value: { imported: { id: number }[] } }).value.imported[0].id;
    const moved = path.join(dir, 'new-name.png');
    fs.renameSync(first, moved);
    const b = await core.dispatch('library.import', { paths: [moved] });
    expect(b.ok && (b.value as { duplicates: { existingId: number }[] }).duplicates).toEqual([{ path: moved, existingId: id }]);
    const p = await core.dispatch('library.get', { id });
    expect(p.ok && (p.value as { path: string; name: string })).toMatchObject({ path: moved, name: 'new-name.png' });
    // A duplicate whose original is still there keeps pointing at it.
    const copy = path.join(dir, 'copy.png');
    fs.copyFileSync(moved, copy);
    await core.dispatch('library.import', { paths: [copy] });
    const q = await core.dispatch('library.get', { id });
    expect(q.ok && (q.value as { path: string }).path).toBe(moved);
  });

  it('answers hostile IPC arguments with clear errors, never a crash', async () => {
    const core = await makeCore();
    const cases: [string, unknown, string][] = [
      ['library.get', { id: 'x' }, 'BAD_ARGS'],
      ['library.get', { id: -1 }, 'BAD_ARGS'],
      ['library.get', { id: 99999 }, 'NOT_FOUND'],
      ['library.get', null, 'BAD_ARGS'],
      ['library.import', { paths: ['/etc/passwd'] }, 'FORBIDDEN_PATH'],
      ['library.import', { paths: [path.join(photosDir, '../../etc')] }, 'FORBIDDEN_PATH'],
      ['library.import', { paths: 'not-an-array' }, 'BAD_ARGS'],
      ['jobs.enqueue', { photoIds: [1], params: { scale: 3, method: 'lanczos', fidelity: 0.5, seed: 1 } }, 'BAD_ARGS'],
      ['jobs.enqueue', { photoIds: [1], params: { scale: 4, method: '../../evil', fidelity: 0.5, seed: 1 } }, 'BAD_ARGS'],
      ['jobs.enqueue', { photoIds: [424242], params: { scale: 4, method: 'lanczos', fidelity: 0.5, seed: 1 } }, 'NOT_FOUND'],
      ['jobs.cancel', { id: 1e9 }, 'NOT_FOUND'],
      ['settings.set', { patch: { threads: -4 } }, 'BAD_ARGS'],
      ['settings.set', { patch: { theme: 'neon' } }, 'BAD_ARGS'],
      ['results.export', { id: 1, path: '/tmp/x.png', format: 'png' }, 'NOT_FOUND'],
      ['no.such.channel', {}, 'BAD_ARGS'],
      ['__proto__', {}, 'BAD_ARGS'],
    ];
    for (const [ch, args, code] of cases) {
      const r = await core.dispatch(ch, args);
      expect(r.ok, `${ch} ${JSON.stringify(args)}`).toBe(false);
      if (!r.ok) {
        expect(r.error.code, `${ch} ${JSON.stringify(args)}: ${r.error.message}`).toBe(code);
        expect(r.error.message.length).toBeGreaterThan(5);
        expect(r.error.message).not.toMatch(/\n|    at /);
      }
    }
  });

  it('settings persist across a restart (conf file in the library folder)', async () => {
    const dir = tmpDir();
    const a = await createCore({ dataDir: dir, startQueue: false });
    const r = await a.dispatch('settings.set', { patch: { theme: 'dark', defaultFidelity: 0.7 } });
    expect(r.ok).toBe(true);
    // A key sent as undefined is no change, not an INTERNAL error.
    const u = await a.dispatch('settings.set', { patch: { threads: undefined } });
    expect(u.ok, u.ok ? '' : u.error.message).toBe(true);
    await a.close();
    const b = await createCore({ dataDir: dir, startQueue: false });
    const g = await b.dispatch('settings.get', {});
    expect(g.ok && (g.value as { theme: string; defaultFidelity: number })).toMatchObject({ theme: 'dark', defaultFidelity: 0.7 });
    await b.close();
  });
});

describe('queue and classic restoration', () => {
  it('restores a batch with lanczos and bicubic, records results, never writes the original', async () => {
    const core = await makeCore();
    const imp = await core.dispatch('library.import', { paths: [path.join(photosDir, 'red.png'), path.join(photosDir, 'green.jpg')] });
    const ids = (imp as { value: { imported: { id: number }[] } }).value.imported.map((p) => p.id);
    const r = await core.dispatch('jobs.enqueue', { photoIds: ids, params: { scale: 4, method: 'lanczos', fidelity: 0.5, seed: 1 } });
    expect(r.ok).toBe(true);
    const jobs = (r as { value: { jobs: Job[] } }).value.jobs;
    const progress: Job[] = [];
    core.onEvent((n, p) => n === 'job.progress' && progress.push(p as Job));
    const fin = await Promise.all(jobs.map((j) => waitFinished(core, j.id)));
    for (const f of fin) {
      expect(f.job.state).toBe('done');
      const meta = await sharp(f.result!.outputPath).metadata();
      expect([meta.width, meta.height]).toEqual([192, 160]);
      expect(core.library.ownsFile(f.result!.outputPath)).toBe(true);
    }
    expect(progress.some((p) => p.state === 'running' && p.progress.image?.n === 2)).toBe(true);
    const res = await core.dispatch('results.list', { photoId: ids[0] });
    expect(res.ok && (res.value as Result[]).length).toBe(1);
    const ph = await core.dispatch('library.get', { id: ids[0] });
    expect(ph.ok && (ph.value as { resultCount: number }).resultCount).toBe(1);
  });

  it('cancels a queued job and retries it', async () => {
    const core = await makeCore();
    const imp = await core.dispatch('library.import', { paths: [path.join(photosDir, 'red.png'), path.join(photosDir, 'blue.webp')] });
    const ids = (imp as { value: { imported: { id: number }[] } }).value.imported.map((p) => p.id);
    core.queue.stop();
    const r = await core.dispatch('jobs.enqueue', { photoIds: ids, params: { scale: 2, method: 'bicubic', fidelity: 0, seed: 0 } });
    const jobs = (r as { value: { jobs: Job[] } }).value.jobs;
    const c = await core.dispatch('jobs.cancel', { id: jobs[1].id });
    expect(c.ok && (c.value as Job).state).toBe('cancelled');
    core.queue.start();
    const f0 = await waitFinished(core, jobs[0].id);
    expect(f0.job.state).toBe('done');
    const again = await core.dispatch('jobs.retry', { id: jobs[1].id });
    expect(again.ok && (again.value as Job).state).toBe('queued');
    const f1 = await waitFinished(core, jobs[1].id);
    expect(f1.job.state).toBe('done');
  });

  it('survives the engine host being killed mid-job: the job re-runs on a fresh host, one result', async () => {
    const core = await makeCore();
    const imp = await core.dispatch('library.import', { paths: [path.join(photosDir, 'green.jpg')] });
    const id = (imp as { value: { imported: { id: number }[] } }).value.imported[0].id;
    let killedPid: number | undefined;
    const off = core.onEvent((n, p) => {
      if (n === 'job.progress' && (p as Job).state === 'running' && !killedPid && core.engine.pid) {
        killedPid = core.engine.pid;
        core.engine.kill();
      }
    });
    const r = await core.dispatch('jobs.enqueue', { photoIds: [id], params: { scale: 2, method: 'lanczos', fidelity: 0, seed: 0 } });
    const job = (r as { value: { jobs: Job[] } }).value.jobs[0];
    const f = await waitFinished(core, job.id);
    off();
    expect(killedPid).toBeDefined();
    expect(f.job.state).toBe('done');
    expect(f.job.attempts).toBe(2);
    expect(core.engine.pid).not.toBe(killedPid);
    expect((await core.dispatch('results.list', { photoId: id }) as { value: Result[] }).value).toHaveLength(1);
  });

  it('re-queues a job left running by a crash of the app and finishes it once', async () => {
    const dir = tmpDir();
    const a = await makeCore(dir, { startQueue: false });
    const imp = await a.dispatch('library.import', { paths: [path.join(photosDir, 'blue.webp')] });
    const id = (imp as { value: { imported: { id: number }[] } }).value.imported[0].id;
    const { jobs } = a.queue.enqueue([id], { scale: 2, method: 'lanczos', fidelity: 0, seed: 0 });
    a.db.prepare(`UPDATE jobs SET state = 'running', attempts = 1 WHERE id = ?`).run(jobs[0].id);
    cores.splice(cores.indexOf(a), 1);
    await a.close();
    const b = await makeCore(dir);
    const f = await waitFinished(b, jobs[0].id);
    expect(f.job.state).toBe('done');
    expect(b.library.listResults(id)).toHaveLength(1);
  });

  it('a job whose original vanished fails with one line naming the file', async () => {
    const dir = tmpDir('daguerre-vanish-');
    const file = path.join(dir, 'gone.png');
    await sharp({ create: { width: 20, height: 20, channels: 3, background: '#888' } }).toFile(file);
    const core = await makeCore(undefined, { grantedRoots: [dir] });
    const imp = await core.dispatch('library.import', { paths: [file] });
    const id = (imp as { value: { imported: { id: number }[] } }).value.imported[0].id;
    fs.rmSync(file);
    const r = await core.dispatch('jobs.enqueue', { photoIds: [id], params: { scale: 2, method: 'lanczos', fidelity: 0, seed: 0 } });
    const f = await waitFinished(core, (r as { value: { jobs: Job[] } }).value.jobs[0].id);
    expect(f.job.state).toBe('failed');
    expect(f.job.error).toMatch(/gone\.png: original file is missing/);
  });
});

describe.skipIf(!hasShared)('real photos (../shared/data)', () => {
  it(`imports all of real/old and real/lowres; EXIF orientation applied, ICC carried`, async () => {
    const core = await makeCore(undefined, { grantedRoots: [OLD, LOWRES] });
    const r = await core.dispatch('library.import', { paths: [OLD, LOWRES] });
    expect(r.ok).toBe(true);
    const v = (r as { value: { imported: { name: string; width: number; height: number; id: number }[]; failed: unknown[] } }).value;
    expect(v.failed).toEqual([]);
    expect(v.imported.length).toBe(38);
    const rot = v.imported.find((p) => p.name === 'people_hopper_exif_orient6_128.jpg')!;
    const raw = await sharp(path.join(LOWRES, rot.name)).metadata();
    expect([rot.width, rot.height]).toEqual([raw.height, raw.width]);
    const icc = v.imported.find((p) => p.name === 'landscape_sea_425_bigicc.jpg')!;
    const job = await core.dispatch('jobs.enqueue', { photoIds: [icc.id, rot.id], params: { scale: 2, method: 'lanczos', fidelity: 0, seed: 0, format: 'jpeg' } });
    const jobs = (job as { value: { jobs: Job[] } }).value.jobs;
    const [a, b] = await Promise.all(jobs.map((j) => waitFinished(core, j.id)));
    const ma = await sharp(a.result!.outputPath).metadata();
    const src = await sharp(path.join(LOWRES, icc.name)).metadata();
    expect(ma.icc?.length).toBe(src.icc?.length);
    const mb = await sharp(b.result!.outputPath).metadata();
    expect([mb.width, mb.height, mb.orientation ?? 1]).toEqual([rot.width * 2, rot.height * 2, 1]);
  });
}, 120_000);
if (!hasShared) console.warn(sharedSkipReason);
