/**
 * faces.detect and the face fields of restore params, against the real Core (SQLite library, job
 * queue, engine host child process): hostile arguments answered with BAD_ARGS; detection in the
 * engine host, cached per content hash; one-line errors; faces / excludeFaces / faceFidelity reach
 * restorePortrait and come back in the result's info.portrait.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { createCore, type Core } from '../../src/main/core';
import { memorySettingsStore } from '../../src/main/settings';
import { FaceError, FaceFinder } from '../../src/main/faces';
import { openDatabase } from '../../src/main/db';
import { EngineError, type EngineClient } from '../../src/main/engine-client';
import { MAX_FACES, channels } from '../../src/shared/contract';
import { facesForRegion } from '../../src/engine/restore';
import type { FaceDetectReport, Job, Photo, Result } from '../../src/shared/types';
import { hasShared, SHARED_DATA, sharedSkipReason, tmpDir } from '../helpers/shared-data';
import { waitJobFinished } from '../helpers/core';

const FIX = path.resolve(__dirname, '../fixtures/models');
const OLD = path.join(SHARED_DATA, 'real/old');
const cores: Core[] = [];
let photosDir: string;
/** A model folder with only the tiny face package: portrait's background is Lanczos (quick). */
let faceOnlyModels: string;

async function makeCore(extra: Partial<Parameters<typeof createCore>[0]> = {}): Promise<Core> {
  const core = await createCore({ dataDir: tmpDir(), modelDirs: [faceOnlyModels], settings: memorySettingsStore({ threads: 1 }), grantedRoots: [photosDir], ...extra });
  cores.push(core);
  return core;
}

function ok<T>(r: { ok: boolean; value?: unknown; error?: unknown }): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value as T;
}

const finished = (core: Core, jobId: number, ms = 120_000) => waitJobFinished(core, jobId, ms);

beforeAll(async () => {
  photosDir = tmpDir('daguerre-faces-');
  faceOnlyModels = tmpDir('daguerre-face-models-');
  fs.symlinkSync(path.join(FIX, 'tiny-face-x8'), path.join(faceOnlyModels, 'tiny-face-x8'));
  await sharp({ create: { width: 64, height: 48, channels: 3, background: '#806040' } }).png().toFile(path.join(photosDir, 'plain.png'));
  if (hasShared) fs.copyFileSync(path.join(OLD, 'family_grey_04.jpg'), path.join(photosDir, 'family_grey_04.jpg'));
});

afterEach(async () => {
  while (cores.length) await cores.pop()!.close();
});

afterAll(() => {
  fs.rmSync(faceOnlyModels, { recursive: true, force: true });
});

describe('face fields of the contract', () => {
  const base = { scale: 2, method: 'portrait', fidelity: 0.5, seed: 1 };
  const params = channels['jobs.enqueue'];
  const box = { x: 10, y: 20, w: 30, h: 40 };

  it('accepts faces, exclusions and per-face knobs within bounds', () => {
    const r = params.safeParse({ photoIds: [1], params: { ...base, faces: [box, { x: 0.5, y: 1.25, w: 12.75, h: 16 }], excludeFaces: [1], faceFidelity: { '0': 0.2, 1: 1 } } });
    expect(r.success).toBe(true);
    // Without boxes the indices refer to the detected faces: any index below MAX_FACES.
    expect(params.safeParse({ photoIds: [1], params: { ...base, excludeFaces: [0, 63], faceFidelity: { '63': 0 } } }).success).toBe(true);
    expect(params.safeParse({ photoIds: [1], params: { ...base, faces: [] } }).success).toBe(true);
  });

  it('rejects hostile face arguments', () => {
    const many = Array.from({ length: MAX_FACES + 1 }, () => box);
    const bad: [string, unknown][] = [
      ['NaN x', { faces: [{ ...box, x: NaN }] }],
      ['Infinity w', { faces: [{ ...box, w: Infinity }] }],
      ['negative y', { faces: [{ ...box, y: -1 }] }],
      ['zero width', { faces: [{ ...box, w: 0 }] }],
      ['huge box', { faces: [{ ...box, h: 1e9 }] }],
      ['string coordinate', { faces: [{ ...box, x: '10' }] }],
      ['extra key in a box', { faces: [{ ...box, evil: 1 }] }],
      ['missing key', { faces: [{ x: 1, y: 1, w: 1 }] }],
      ['box not an object', { faces: ['10,20,30,40'] }],
      ['faces not an array', { faces: { 0: box } }],
      ['too many faces', { faces: many }],
      ['exclusion beyond the boxes', { faces: [box], excludeFaces: [1] }],
      ['negative exclusion', { excludeFaces: [-1] }],
      ['fractional exclusion', { excludeFaces: [0.5] }],
      ['exclusion >= MAX_FACES', { excludeFaces: [MAX_FACES] }],
      ['too many exclusions', { excludeFaces: Array.from({ length: MAX_FACES + 1 }, (_, i) => i % MAX_FACES) }],
      ['knob above 1', { faceFidelity: { 0: 1.5 } }],
      ['knob NaN', { faceFidelity: { 0: NaN } }],
      ['knob as string', { faceFidelity: { 0: '0.5' } }],
      ['key constructor', { faceFidelity: { constructor: 0.5 } }],
      ['key -1', { faceFidelity: { '-1': 0.5 } }],
      ['key 1e1', { faceFidelity: { '1e1': 0.5 } }],
      ['key 07', { faceFidelity: { '07': 0.5 } }],
      ['key 64', { faceFidelity: { '64': 0.5 } }],
      ['knob beyond the boxes', { faces: [box], faceFidelity: { 3: 0.5 } }],
    ];
    for (const [what, extra] of bad) {
      const r = params.safeParse({ photoIds: [1], params: { ...base, ...(extra as object) } });
      expect(r.success, what).toBe(false);
    }
    // A "__proto__" key (JSON can carry one) is dropped by zod, never set as a prototype.
    for (const json of ['{"__proto__": {"polluted": 1}, "1": 0.3}', '{"__proto__": 0.5, "1": 0.3}']) {
      const q = params.safeParse({ photoIds: [1], params: { ...base, faceFidelity: JSON.parse(json) } });
      expect(q.success).toBe(true);
      if (q.success) expect(Object.keys(q.data.params.faceFidelity!)).toEqual(['1']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('answers hostile calls with one-line BAD_ARGS, never a crash', async () => {
    const core = await makeCore({ startQueue: false });
    const cases: [string, unknown][] = [
      ['faces.detect', {}],
      ['faces.detect', null],
      ['faces.detect', { photoId: 'x' }],
      ['faces.detect', { photoId: -1 }],
      ['faces.detect', { photoId: 1.5 }],
      ['faces.detect', { photoId: 1, scale: 3 }],
      ['jobs.enqueue', { photoIds: [1], params: { ...base, faces: [{ ...box, x: Number.POSITIVE_INFINITY }] } }],
      ['jobs.enqueue', { photoIds: [1], params: { ...base, faces: Array.from({ length: 65 }, () => box) } }],
      ['jobs.enqueue', { photoIds: [1], params: { ...base, faceFidelity: { toString: 1 } } }],
      ['library.setPrefs', { id: 1, prefs: { faces: [{ ...box, w: -5 }] } }],
      ['library.setPrefs', { id: 1, prefs: { faces: [box], excludeFaces: [4] } }],
    ];
    for (const [ch, args] of cases) {
      const r = await core.dispatch(ch, args);
      expect(r.ok, `${ch} ${JSON.stringify(args)}`).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('BAD_ARGS');
        expect(r.error.message.split('\n')).toHaveLength(1);
      }
    }
    const missing = await core.dispatch('faces.detect', { photoId: 4242 });
    expect(missing).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: 'photo 4242 not found' } });
  });

  it('a box outside the photo is refused at enqueue; prefs keep and forget the faces', async () => {
    const core = await makeCore({ startQueue: false });
    const rep = ok<{ imported: Photo[] }>(await core.dispatch('library.import', { paths: [path.join(photosDir, 'plain.png')] }));
    const id = rep.imported[0].id;
    const r = await core.dispatch('jobs.enqueue', { photoIds: [id], params: { ...base, faces: [box, { x: 70, y: 0, w: 10, h: 10 }] } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe('plain.png: face 2 lies outside the image (64×48)');
    const p = ok<Photo>(await core.dispatch('library.setPrefs', { id, prefs: { method: 'portrait', faces: [box], excludeFaces: [0], faceFidelity: { 0: 0.3 } } }));
    expect(p.prefs).toEqual({ method: 'portrait', faces: [box], excludeFaces: [0], faceFidelity: { 0: 0.3 } });
    const q = ok<Photo>(await core.dispatch('library.setPrefs', { id, prefs: { fidelity: 0.4, faces: null, excludeFaces: null, faceFidelity: null } }));
    expect(q.prefs).toEqual({ method: 'portrait', fidelity: 0.4 });
  });
});

describe('faces of a preview region', () => {
  it('keeps the faces centred in the region, shifted, with exclusions and knobs re-indexed', () => {
    const faces = [
      { x: 0, y: 0, w: 10, h: 10 },
      { x: 100, y: 100, w: 20, h: 20 },
      { x: 150, y: 90, w: 20, h: 30 },
      { x: 190, y: 190, w: 30, h: 30 },
    ];
    const r = facesForRegion({ faces, excludeFaces: [0, 2], faceFidelity: { 1: 0.1, 3: 0.9 } }, { x: 90, y: 80, w: 100, h: 100 });
    expect(r.faces).toEqual([
      { x: 10, y: 20, w: 20, h: 20 },
      { x: 60, y: 10, w: 20, h: 30 },
    ]);
    expect(r.excludeFaces).toEqual([1]);
    expect(r.faceFidelity).toEqual({ 0: 0.1 });
    // Whole photo, or no boxes (the engine detects): unchanged.
    expect(facesForRegion({ faces, excludeFaces: [2] }, null)).toEqual({ faces, excludeFaces: [2], faceFidelity: undefined });
    expect(facesForRegion({ excludeFaces: [2] }, { x: 0, y: 0, w: 5, h: 5 })).toEqual({ faces: undefined, excludeFaces: [2], faceFidelity: undefined });
  });
});

describe('FaceFinder errors (engine stand-in)', () => {
  it('names a missing detector, an unreadable photo and a missing file in one line', async () => {
    const dir = tmpDir();
    const db = openDatabase(path.join(dir, 'lib.sqlite'));
    const file = path.join(dir, 'a.png');
    fs.writeFileSync(file, 'x');
    const photo = { id: 1, path: file, name: 'a.png' } as Photo;
    const finder = (err: EngineError) => new FaceFinder(db, { findFaces: async () => Promise.reject(err) } as unknown as EngineClient);
    await expect(finder(new EngineError('no face detector: weights not found', 'DETECTOR')).detect(photo)).rejects.toMatchObject({ code: 'UNSUPPORTED', message: 'no face detector: weights not found' });
    await expect(finder(new EngineError(`${file}: corrupt or truncated image`, 'CORRUPT')).detect(photo)).rejects.toMatchObject({ code: 'IO', message: 'a.png: cannot read the photo (corrupt or truncated image)' });
    fs.rmSync(file);
    const e = await finder(new EngineError('x', 'ENGINE'))
      .detect(photo)
      .catch((x: FaceError) => x);
    expect(e).toBeInstanceOf(FaceError);
    expect((e as FaceError).code).toBe('NOT_FOUND');
    expect((e as FaceError).message).toBe(`a.png: the original file is missing (${file})`);
    db.close();
  });
});

describe.skipIf(!hasShared)('faces.detect in the engine host (real photo)', () => {
  if (!hasShared) it.skip(sharedSkipReason, () => {});

  it('finds the faces once, answers again from the cache, says which portrait would restore', async () => {
    const core = await makeCore({ startQueue: false });
    const rep = ok<{ imported: Photo[] }>(await core.dispatch('library.import', { paths: [path.join(photosDir, 'family_grey_04.jpg')] }));
    const id = rep.imported[0].id;
    const first = ok<FaceDetectReport>(await core.dispatch('faces.detect', { photoId: id }));
    expect(core.engine.pid).toBeGreaterThan(0); // ran in the engine host (started on demand)
    expect(core.engine.pid).not.toBe(process.pid);
    expect(first.cached).toBe(false);
    expect(first.ms).toBeGreaterThan(0);
    expect(first.detector).toMatch(/^face-api@/);
    expect(first.faces.length).toBeGreaterThanOrEqual(2);
    // Sorted left to right; boxes inside the photo; 5 landmarks inside each box (roughly).
    for (const f of first.faces) {
      expect(f.box.x).toBeGreaterThanOrEqual(0);
      expect(f.box.x + f.box.w).toBeLessThanOrEqual(736);
      expect(f.box.y + f.box.h).toBeLessThanOrEqual(586);
      expect(f.score).toBeGreaterThan(0.3);
      expect(f.landmarks).toHaveLength(5);
      expect(f.restorable).toBeUndefined();
    }
    const xs = first.faces.map((f) => f.box.x + f.box.w / 2);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    // The labelled face of the woman on the left (205,130 55×75) is found.
    expect(first.faces.some((f) => Math.abs(f.box.x + f.box.w / 2 - 232) < 20 && Math.abs(f.box.y + f.box.h / 2 - 167) < 25)).toBe(true);

    const t0 = performance.now();
    const again = ok<FaceDetectReport>(await core.dispatch('faces.detect', { photoId: id, scale: 4 }));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(again.cached).toBe(true);
    expect(again.ms).toBe(first.ms);
    expect(again.faces.map((f) => f.box)).toEqual(first.faces.map((f) => f.box));
    for (const f of again.faces) {
      expect(typeof f.restorable).toBe('boolean');
      if (!f.restorable) expect(f.reason).toMatch(/left to the background/);
    }
    const rows = core.db.prepare(`SELECT COUNT(*) AS n FROM face_detections`).get() as { n: number };
    expect(rows.n).toBe(1);
  });

  it('photo missing, or its file now unreadable: one line each', async () => {
    const core = await makeCore({ startQueue: false });
    const dir = tmpDir('daguerre-faces-gone-');
    core.grant(dir);
    const a = path.join(dir, 'gone.jpg');
    const b = path.join(dir, 'spoilt.jpg');
    fs.copyFileSync(path.join(OLD, 'portrait_grey_tiny_03.jpg'), a);
    fs.copyFileSync(path.join(OLD, 'portrait_grey_small_04.jpg'), b);
    const rep = ok<{ imported: Photo[] }>(await core.dispatch('library.import', { paths: [a, b] }));
    const [pa, pb] = ['gone.jpg', 'spoilt.jpg'].map((n) => rep.imported.find((p) => p.name === n)!.id);
    fs.rmSync(a);
    fs.writeFileSync(b, 'this is no longer a picture');
    const ra = await core.dispatch('faces.detect', { photoId: pa });
    expect(ra).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: `gone.jpg: the original file is missing (${a})` } });
    const rb = await core.dispatch('faces.detect', { photoId: pb });
    expect(rb.ok).toBe(false);
    if (!rb.ok) {
      expect(rb.error.code).toBe('IO');
      expect(rb.error.message).toMatch(/^spoilt\.jpg: cannot read the photo \(.+\)$/);
      expect(rb.error.message.split('\n')).toHaveLength(1);
    }
  });

  it('faces, exclusions and per-face knobs reach portrait and come back in the result', async () => {
    const core = await makeCore();
    const rep = ok<{ imported: Photo[] }>(await core.dispatch('library.import', { paths: [path.join(photosDir, 'family_grey_04.jpg')] }));
    const id = rep.imported[0].id;
    // Three labelled faces: the girl (excluded), the boy (knob 0.2), the woman (too large for the face model).
    const faces = [
      { x: 247, y: 210, w: 50, h: 60 },
      { x: 326, y: 200, w: 42, h: 65 },
      { x: 205, y: 130, w: 55, h: 75 },
    ];
    const params = { scale: 2 as const, method: 'portrait', fidelity: 0, seed: 3, sampler: 'csa', faces, excludeFaces: [0], faceFidelity: { 1: 0.2 } };
    const { jobs } = ok<{ jobs: Job[] }>(await core.dispatch('jobs.enqueue', { photoIds: [id], params }));
    expect(jobs[0].params).toMatchObject({ faces, excludeFaces: [0], faceFidelity: { 1: 0.2 } });
    const { job, result } = await finished(core, jobs[0].id);
    expect(job.error).toBeNull();
    expect(job.state).toBe('done');
    const info = result!.info.portrait as { faces: { box: unknown; restored: boolean; reason?: string; calls: number; fidelity?: number }[]; background: string; faceModel: string };
    expect(info.background).toBe('lanczos');
    expect(info.faceModel).toBe('tiny-face-x8');
    expect(info.faces.map((f) => f.box)).toEqual(faces);
    expect(info.faces[0]).toMatchObject({ restored: false, reason: 'excluded by the user', calls: 0 });
    expect(info.faces[1].restored).toBe(true);
    expect(info.faces[1].fidelity).toBe(0.2);
    expect(info.faces[1].calls).toBeGreaterThan(0);
    expect(info.faces[2]).toMatchObject({ restored: false, reason: expect.stringMatching(/^large face/) });
    expect(result!.width).toBe(736 * 2);
  });
});
