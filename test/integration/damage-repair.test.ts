/**
 * Issue 17, damage repair end to end: `repair` in the IPC contract (a mask outside the granted paths, a
 * non-image, a mask of another shape: {ok:false} naming the file and the reason), stored with the job
 * and the result (migration 3), and the CLI's `--repair detect | --repair-mask <file|dir>`: a photo with
 * a synthetic scratch is repaired inside the mask and left as without repair away from it; a bad mask
 * fails its own file with one line, the other files are still done.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import Database from 'better-sqlite3';
import { createCore, type Core } from '../../src/main/core';
import { memorySettingsStore } from '../../src/main/settings';
import { MIGRATIONS, openDatabase } from '../../src/main/db';
import { mergeLibraries } from '../../src/main/merge';
import { applyDamage, dilateMask, resizeMaskNearest, synthMask, type Mask } from '../../src/engine/damage/index';
import type { ImageF32 } from '../../src/engine/image';
import type { Photo } from '../../src/shared/types';
import { tmpDir } from '../helpers/shared-data';
import { waitJobFinished } from '../helpers/core';
import { runCli } from '../helpers/cli';

const ROOT = path.resolve(__dirname, '../..');
const MODELS = path.join(ROOT, 'test/fixtures/models');
const W = 48;
const H = 40;
let dir: string;
let mask: Mask;

/** A smooth picture with some structure (gradients, a wave), like the unit tests'. */
function picture(w: number, h: number): ImageF32 {
  const d = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 3;
    d[i] = 0.2 + 0.5 * (x / w);
    d[i + 1] = 0.3 + 0.3 * Math.sin((y / h) * Math.PI);
    d[i + 2] = 0.25 + 0.2 * Math.cos(((x + y) / w) * 2);
  }
  return { width: w, height: h, data: d };
}
const savePng = (img: ImageF32, file: string) =>
  sharp(Buffer.from(Uint8Array.from(img.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255))), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toFile(file);
const saveMask = (m: Mask, file: string) => sharp(Buffer.from(m.data), { raw: { width: m.width, height: m.height, channels: 1 } }).png().toFile(file);
const readRgb = async (file: string) => {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
};

const cli = (args: string[]) => runCli(args, { DAGUERRE_HOME: path.join(dir, 'home'), DAGUERRE_MODELS: MODELS });
const restore = (inputs: string[], out: string, extra: string[] = []) =>
  cli(['restore', ...inputs, '-o', path.join(dir, out), '--method', 'tiny-x4', '--scale', '4', '--sampler', 'ddim:4', '--threads', '1', '--library', path.join(dir, `lib-${out}`), '--json', ...extra]);

beforeAll(async () => {
  dir = tmpDir('daguerre-repair-');
  const clean = picture(W, H);
  mask = synthMask(W, H, 'scratches', 'large', 5);
  await savePng(clean, path.join(dir, 'clean.png'));
  await savePng(applyDamage(clean, mask, 'scratches', 5), path.join(dir, 'scratched.png'));
  await saveMask(mask, path.join(dir, 'scratched.mask.png'));
  await savePng(picture(40, 40), path.join(dir, 'square.png'));
  fs.writeFileSync(path.join(dir, 'notes.png'), 'this is not an image');
  fs.mkdirSync(path.join(dir, 'masks'));
  fs.copyFileSync(path.join(dir, 'scratched.mask.png'), path.join(dir, 'masks/scratched.mask.png'));
  fs.writeFileSync(path.join(dir, 'masks/square.mask.png'), 'this is not an image');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('repair in the IPC contract, the job and the result', () => {
  const cores: Core[] = [];
  afterEach(async () => {
    while (cores.length) await cores.pop()!.close();
  });
  const makeCore = async (granted: string[], dataDir = tmpDir()) => {
    const core = await createCore({ dataDir, modelDirs: [MODELS], settings: memorySettingsStore({ threads: 1 }), grantedRoots: granted });
    cores.push(core);
    return core;
  };
  const photosDir = () => path.join(dir, 'photos');

  it('refuses a mask outside the granted paths, a non-image and another shape with one line; runs a good one and records it', async () => {
    fs.mkdirSync(photosDir(), { recursive: true });
    for (const f of ['scratched.png', 'scratched.mask.png', 'notes.png']) fs.copyFileSync(path.join(dir, f), path.join(photosDir(), f));
    await saveMask(synthMask(40, 40, 'scratches', 'small', 1), path.join(photosDir(), 'square.mask.png'));
    const libDir = tmpDir();
    const core = await makeCore([path.join(photosDir(), 'scratched.png'), path.join(photosDir(), 'notes.png'), path.join(photosDir(), 'square.mask.png'), path.join(photosDir(), 'scratched.mask.png')], libDir);
    const imp = await core.dispatch('library.import', { paths: [path.join(photosDir(), 'scratched.png')] });
    expect(imp.ok).toBe(true);
    const photo = (imp as { value: { imported: Photo[] } }).value.imported[0];
    const params = { scale: 4, method: 'tiny-x4', sampler: 'ddim:2', fidelity: 0.5, seed: 0 };
    const enqueue = (repair: unknown) => core.dispatch('jobs.enqueue', { photoIds: [photo.id], params: { ...params, repair } });

    const outside = await enqueue({ mask: path.join(dir, 'scratched.mask.png') });
    expect(outside).toEqual({ ok: false, error: { code: 'FORBIDDEN_PATH', message: `damage mask ${path.join(dir, 'scratched.mask.png')}: not a file you chose` } });
    const relative = await enqueue({ mask: 'scratched.mask.png' });
    expect(relative.ok === false && relative.error.code).toBe('FORBIDDEN_PATH');
    const notImage = await enqueue({ mask: path.join(photosDir(), 'notes.png') });
    expect(notImage.ok).toBe(false);
    if (!notImage.ok) {
      expect(notImage.error.code).toBe('BAD_ARGS');
      expect(notImage.error.message).toMatch(new RegExp(`^damage mask ${path.join(photosDir(), 'notes.png').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
      expect(notImage.error.message).not.toContain('\n');
    }
    const shape = await enqueue({ mask: path.join(photosDir(), 'square.mask.png') });
    expect(shape).toEqual({ ok: false, error: { code: 'BAD_ARGS', message: `scratched.png: damage mask ${path.join(photosDir(), 'square.mask.png')} is 40×40 but the photo is 48×40 (a different shape)` } });
    const badValue = await enqueue('sometimes');
    expect(badValue.ok === false && badValue.error.code).toBe('BAD_ARGS');
    expect(core.queue.list()).toHaveLength(0);

    const good = path.join(photosDir(), 'scratched.mask.png');
    const r = await enqueue({ mask: good });
    expect(r.ok).toBe(true);
    const job = (r as { value: { jobs: { id: number; params: { repair?: unknown } }[] } }).value.jobs[0];
    expect(job.params.repair).toEqual({ mask: good });
    const done = await waitJobFinished(core, job.id);
    expect(done.job.state, done.job.error ?? '').toBe('done');
    const px = mask.data.reduce((n, v) => n + (v ? 1 : 0), 0);
    expect(done.result!.repair).toEqual({ source: 'file', mask: good, coverage: px / (W * H), pixels: px });
    // The stored result reads back the same; a job without repair records none.
    expect(core.library.getResult(done.result!.id)!.repair).toEqual(done.result!.repair);
    const det = await enqueue('detect');
    const dj = await waitJobFinished(core, (det as { value: { jobs: { id: number }[] } }).value.jobs[0].id);
    expect(dj.result!.repair).toMatchObject({ source: 'detected', mask: null });
    expect(dj.result!.repair!.pixels).toBeGreaterThan(0);
    const off = await enqueue('off');
    const oj = await waitJobFinished(core, (off as { value: { jobs: { id: number }[] } }).value.jobs[0].id);
    expect(oj.result!.repair).toBeNull();
    // A mask painted for the photo (masks.save) is used by a restore that names no repair; 'off' still turns it off.
    const painted = await core.dispatch('masks.save', { photoId: photo.id, png: fs.readFileSync(good).toString('base64') });
    expect(painted.ok).toBe(true);
    const stored = (painted as { value: Photo }).value.prefs!.repair as { mask: string };
    expect(stored.mask.startsWith(libDir)).toBe(true);
    const plain = await core.dispatch('jobs.enqueue', { photoIds: [photo.id], params });
    const pj = await waitJobFinished(core, (plain as { value: { jobs: { id: number }[] } }).value.jobs[0].id);
    expect(pj.result!.repair).toEqual({ source: 'file', mask: stored.mask, coverage: px / (W * H), pixels: px });
    const off2 = await enqueue('off');
    expect((await waitJobFinished(core, (off2 as { value: { jobs: { id: number }[] } }).value.jobs[0].id)).result!.repair).toBeNull();
    // `library merge` carries the repair record.
    await cores.pop()!.close();
    const into = tmpDir();
    mergeLibraries([libDir], into);
    const merged = openDatabase(path.join(into, 'library.sqlite'));
    const rows = merged.prepare('SELECT repair_source, repair_mask FROM results ORDER BY id').all();
    merged.close();
    expect(rows.slice(0, 3)).toEqual([{ repair_source: 'file', repair_mask: good }, { repair_source: 'detected', repair_mask: null }, { repair_source: null, repair_mask: null }]);
    expect(rows).toHaveLength(5);
  }, 120_000);

  it('migration 3 adds the repair columns to a version-2 library; old results read as no repair', () => {
    const file = path.join(tmpDir(), 'library.sqlite');
    const db = new Database(file);
    db.exec(MIGRATIONS[0]);
    db.exec(MIGRATIONS[1]);
    db.pragma('user_version = 2');
    db.exec(`INSERT INTO photos (id, path, name, hash, size, format, width, height, added_at) VALUES (1, '/x.png', 'x.png', 'h', 1, 'png', 4, 4, 'now')`);
    db.exec(`INSERT INTO results (photo_id, kind, method, scale, duration_ms, output_path, width, height, created_at) VALUES (1, 'restore', 'bicubic', 2, 1, '/o.png', 8, 8, 'now')`);
    db.close();
    const db2 = openDatabase(file);
    expect(db2.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(MIGRATIONS.length).toBeGreaterThanOrEqual(3);
    const row = db2.prepare('SELECT repair_source, repair_mask, repair_coverage, repair_pixels FROM results').get();
    expect(row).toEqual({ repair_source: null, repair_mask: null, repair_coverage: null, repair_pixels: null });
    db2.close();
  });
});

describe('daguerre restore --repair', () => {
  it('an unknown --repair value, or detect with a mask, is exit 2 with one line', async () => {
    const a = await cli(['restore', path.join(dir, 'scratched.png'), '-o', path.join(dir, 'x'), '--repair', 'sometimes']);
    expect(a.code).toBe(2);
    expect(a.stderr.trim()).toBe('daguerre: --repair sometimes: not auto, detect or off, and no such mask file or folder');
    const b = await cli(['restore', path.join(dir, 'scratched.png'), '-o', path.join(dir, 'x'), '--repair', 'detect', '--repair-mask', path.join(dir, 'scratched.mask.png')]);
    expect(b.code).toBe(2);
    expect(b.stderr.trim()).toBe('daguerre: --repair detect and --repair-mask exclude each other');
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  }, 60_000);

  const maskedMean = (M: Mask) => (a: Uint8Array, b: Uint8Array, keep: (i: number) => boolean) => {
    let s = 0, n = 0;
    for (let i = 0; i < M.data.length; i++) if (keep(i)) for (let ch = 0; ch < 3; ch++) { s += Math.abs(a[i * 3 + ch] - b[i * 3 + ch]); n++; }
    return s / n;
  };

  it('repairs a synthetic scratch inside the mask and leaves the rest as without repair (bicubic: Telea, then the resampler)', async () => {
    const run = (input: string, out: string, extra: string[] = []) => restore([path.join(dir, input)], out, ['--method', 'bicubic', ...extra]);
    const [c, d, r] = [await run('clean.png', 'bclean'), await run('scratched.png', 'bplain'), await run('scratched.png', 'bmask', ['--repair-mask', path.join(dir, 'scratched.mask.png')])];
    for (const x of [c, d, r]) expect(x.code, x.stderr).toBe(0);
    expect(JSON.parse(r.stdout).files[0].repair).toMatchObject({ source: 'file', mask: path.join(dir, 'scratched.mask.png') });
    expect(JSON.parse(d.stdout).files[0].repair).toBeNull();
    const clean = await readRgb(path.join(dir, 'bclean/clean_x4.png'));
    const plain = await readRgb(path.join(dir, 'bplain/scratched_x4.png'));
    const fixed = await readRgb(path.join(dir, 'bmask/scratched_x4.png'));
    expect([fixed.width, fixed.height]).toEqual([W * 4, H * 4]);
    const M = resizeMaskNearest(mask, W * 4, H * 4);
    const near = dilateMask(M, 12);
    const mean = maskedMean(M);
    const errPlain = mean(plain.data, clean.data, (i) => !!M.data[i]);
    const errFixed = mean(fixed.data, clean.data, (i) => !!M.data[i]);
    // Inside the scratch: far closer to the clean picture's enlargement than without repair.
    expect(errPlain).toBeGreaterThan(40);
    expect(errFixed).toBeLessThan(errPlain * 0.1);
    // Beyond the bicubic's reach (12 output px = 3 input px): the very bytes of the restore without repair.
    let maxFar = 0;
    for (let i = 0; i < M.data.length; i++) if (!near.data[i]) for (let ch = 0; ch < 3; ch++) maxFar = Math.max(maxFar, Math.abs(fixed.data[i * 3 + ch] - plain.data[i * 3 + ch]));
    expect(maxFar).toBe(0);
  }, 120_000);

  it('tiny-x4 (a diffusion model): the resampling jumps run inside the mask, the rest stays as without repair', async () => {
    const [d, r] = [await restore([path.join(dir, 'scratched.png')], 'plain'), await restore([path.join(dir, 'scratched.png')], 'mask', ['--repair-mask', path.join(dir, 'scratched.mask.png')])];
    for (const x of [d, r]) expect(x.code, x.stderr).toBe(0);
    const [fd, fr] = [JSON.parse(d.stdout).files[0], JSON.parse(r.stdout).files[0]];
    expect(fr.repair).toMatchObject({ source: 'file', pixels: mask.data.reduce((n, v) => n + (v ? 1 : 0), 0) });
    // 2 jumps after each of the 4 DDIM calls (the last, at ᾱ ≈ 1, has none) on every tile touching the scratch.
    expect(fr.calls).toBeGreaterThan(fd.calls);
    const plain = await readRgb(path.join(dir, 'plain/scratched_x4.png'));
    const fixed = await readRgb(path.join(dir, 'mask/scratched_x4.png'));
    const M = resizeMaskNearest(mask, W * 4, H * 4);
    const near = dilateMask(M, 12);
    // tiny-x4 has random weights (its ε is meaningless), so only where the picture comes from is tested, not its quality.
    expect(maskedMean(M)(fixed.data, plain.data, (i) => !near.data[i])).toBeLessThan(1);
  }, 120_000);

  it('uses the mask painted for the photo in the library unless --repair off', async () => {
    const lib = path.join(dir, 'lib-painted');
    const core = await createCore({ dataDir: lib, modelDirs: [MODELS], settings: memorySettingsStore({ threads: 1 }), grantedRoots: [dir] });
    try {
      const imp = await core.dispatch('library.import', { paths: [path.join(dir, 'scratched.png')] });
      const photo = (imp as { value: { imported: Photo[] } }).value.imported[0];
      const saved = await core.dispatch('masks.save', { photoId: photo.id, png: fs.readFileSync(path.join(dir, 'scratched.mask.png')).toString('base64') });
      expect(saved.ok).toBe(true);
    } finally {
      await core.close();
    }
    const run = (out: string, extra: string[] = []) => cli(['restore', path.join(dir, 'scratched.png'), '-o', path.join(dir, out), '--method', 'bicubic', '--library', lib, '--json', ...extra]);
    const a = await run('painted');
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).files[0].repair).toMatchObject({ source: 'file', mask: expect.stringContaining(lib), pixels: mask.data.reduce((n, v) => n + (v ? 1 : 0), 0) });
    const b = await run('painted-off', ['--repair', 'off']);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout).files[0].repair).toBeNull();
  }, 120_000);

  it('--repair detect finds and repairs the scratch', async () => {
    const r = await restore([path.join(dir, 'scratched.png')], 'detect', ['--repair', 'detect']);
    expect(r.code, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout).files[0].repair;
    expect(rec).toMatchObject({ source: 'detected', mask: null });
    expect(rec.pixels).toBeGreaterThan(0.5 * mask.data.reduce((n, v) => n + (v ? 1 : 0), 0));
  }, 120_000);

  it('--repair <mask.png> is --repair-mask <mask.png>, --repair auto is detect (the same bytes)', async () => {
    const m = path.join(dir, 'scratched.mask.png');
    const run = (out: string, extra: string[]) => restore([path.join(dir, 'scratched.png')], out, ['--method', 'bicubic', ...extra]);
    const [a, b, c, d] = [await run('rm-a', ['--repair-mask', m]), await run('rm-b', ['--repair', m]), await run('ra-c', ['--repair', 'detect']), await run('ra-d', ['--repair', 'auto'])];
    for (const x of [a, b, c, d]) expect(x.code, x.stderr).toBe(0);
    expect(JSON.parse(b.stdout).files[0].repair).toMatchObject({ source: 'file', mask: m });
    expect(JSON.parse(d.stdout).files[0].repair).toMatchObject({ source: 'detected' });
    expect(fs.readFileSync(path.join(dir, 'rm-b/scratched_x4.png')).equals(fs.readFileSync(path.join(dir, 'rm-a/scratched_x4.png')))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'ra-d/scratched_x4.png')).equals(fs.readFileSync(path.join(dir, 'ra-c/scratched_x4.png')))).toBe(true);
    const e = await cli(['restore', path.join(dir, 'scratched.png'), '-o', path.join(dir, 'x'), '--repair', m, '--repair-mask', m]);
    expect(e.code).toBe(2);
    expect(e.stderr.trim()).toBe('daguerre: --repair <mask> and --repair-mask exclude each other');
  }, 120_000);

  it('a mask of another shape, or a non-image mask in a mask folder, fails that file with one line; the other file is done', async () => {
    const a = await restore([path.join(dir, 'scratched.png'), path.join(dir, 'square.png')], 'shape', ['--repair-mask', path.join(dir, 'scratched.mask.png')]);
    expect(a.code).toBe(1);
    const errs = a.stderr.split('\n').filter((l) => l.startsWith('error'));
    expect(errs).toEqual([`error: ${path.join(dir, 'square.png')}: damage mask ${path.join(dir, 'scratched.mask.png')} is 48×40 but the photo is 40×40 (a different shape)`]);
    expect(fs.existsSync(path.join(dir, 'shape/scratched_x4.png'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'shape/square_x4.png'))).toBe(false);
    const j = JSON.parse(a.stdout);
    expect([j.done, j.failed]).toEqual([1, 1]);

    const b = await restore([path.join(dir, 'scratched.png'), path.join(dir, 'square.png')], 'folder', ['--repair-mask', path.join(dir, 'masks')]);
    expect(b.code).toBe(1);
    const berrs = b.stderr.split('\n').filter((l) => l.startsWith('error'));
    expect(berrs).toHaveLength(1);
    expect(berrs[0]).toMatch(new RegExp(`^error: ${path.join(dir, 'square.png').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: damage mask ${path.join(dir, 'masks/square.mask.png').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
    const bj = JSON.parse(b.stdout);
    expect(bj.files.find((f: { input: string }) => f.input.endsWith('scratched.png')).repair).toMatchObject({ source: 'file', mask: path.join(dir, 'masks/scratched.mask.png') });
    expect(fs.existsSync(path.join(dir, 'folder/scratched_x4.png'))).toBe(true);
  }, 120_000);
});
