/**
 * Issue 19.3, the engine side of the batch pipeline: restore.ts's inference lock (one job at a time
 * inside onnxruntime, first come first served, a cancelled waiter leaves the line), two restores run
 * at once in one process (the second one's decode overlaps the first one's inference, their diffusion
 * passes never interleave, and each output is byte-identical to the one made alone), and the engine
 * host's helper thread (offload.ts: same answers as in the calling thread, errors kept, a dead worker
 * falls back to the calling thread); and the CLI on a small folder with pipeline 1 and 2: the same
 * files, byte for byte, and with 2 the jobs overlap. Real onnxruntime sessions on the fixture models.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { InferenceLock, inferenceLock, runRestore, WAITING_FOR_ENGINE, type RestoreProgress, type RestoreRequest } from '../../src/engine/restore';
import { OffloadThread } from '../../src/engine/offload';
import { decodeImage } from '../../src/engine/image-io';
import { estimateDegradation } from '../../src/engine/degradation';
import { resultMetrics } from '../../src/engine/result-metrics';
import { detectPortraitFaces } from '../../src/engine/faces/portrait';
import { isCancel, InputError } from '../../src/engine/errors';
import { hasShared, SHARED_DATA, tmpDir } from '../helpers/shared-data';

const FIX = path.resolve(__dirname, '../fixtures/models');
const HOST = new URL('../../src/engine/host.ts', import.meta.url);
let dir: string;

beforeAll(async () => {
  dir = tmpDir('daguerre-pipeline-');
  for (let i = 0; i < 3; i++) {
    const px = Buffer.alloc(40 * 32 * 3);
    for (let k = 0; k < px.length; k++) px[k] = (k * (7 + i) + 31 * i) & 255;
    await sharp(px, { raw: { width: 40, height: 32, channels: 3 } }).png().toFile(path.join(dir, `p${i}.png`));
  }
  fs.writeFileSync(path.join(dir, 'corrupt.png'), Buffer.from('\x89PNG\r\n\x1a\n not really'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const req = (name: string, out: string, steps = 4): RestoreRequest => ({
  input: path.join(dir, name),
  output: path.join(dir, out),
  params: { scale: 4, method: 'tiny-x4', sampler: `ddim:${steps}`, fidelity: 0.5, seed: 3 } as RestoreRequest['params'],
  format: 'png',
  modelDirs: [FIX],
  threads: 1,
  provider: 'cpu',
});

describe('InferenceLock', () => {
  it('lets one holder in at a time, first come first served, and a release twice frees once', async () => {
    const lock = new InferenceLock();
    const order: string[] = [];
    const r1 = await lock.acquire();
    const p2 = lock.acquire().then((r) => (order.push('2'), r));
    const p3 = lock.acquire().then((r) => (order.push('3'), r));
    expect(lock.busy).toBe(true);
    expect(lock.waiting).toBe(2);
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    r1();
    r1(); // a second release of the same hold is a no-op: 3 must still wait for 2
    const r2 = await p2;
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['2']);
    r2();
    const r3 = await p3;
    expect(order).toEqual(['2', '3']);
    r3();
    expect(lock.busy).toBe(false);
  });

  it('a waiter whose signal aborts leaves the line with a cancel; an aborted signal never enters', async () => {
    const lock = new InferenceLock();
    const r1 = await lock.acquire();
    const ac = new AbortController();
    const p2 = lock.acquire(ac.signal);
    const p3 = lock.acquire();
    ac.abort();
    await expect(p2).rejects.toSatisfy(isCancel);
    expect(lock.waiting).toBe(1);
    r1();
    (await p3)();
    expect(lock.busy).toBe(false);
    await expect(lock.acquire(ac.signal)).rejects.toSatisfy(isCancel);
    expect(lock.busy).toBe(false);
  });
});

describe('two restores at once in one process', () => {
  it("overlap outside onnxruntime, never inside, and write the same bytes as one at a time", async () => {
    // one at a time
    await runRestore(req('p0.png', 'alone0.png', 30));
    await runRestore(req('p1.png', 'alone1.png'));
    // the second starts once the first is sampling
    const events: { job: number; p: RestoreProgress }[] = [];
    let second: Promise<unknown> | null = null;
    const first = runRestore(req('p0.png', 'both0.png', 30), {
      onProgress: (p) => {
        events.push({ job: 0, p });
        if (p.step && !second) second = runRestore(req('p1.png', 'both1.png'), { onProgress: (q) => events.push({ job: 1, p: q }) });
      },
    });
    await first;
    await second;
    for (const i of [0, 1]) expect(fs.readFileSync(path.join(dir, `both${i}.png`)).equals(fs.readFileSync(path.join(dir, `alone${i}.png`))), `output ${i}`).toBe(true);
    const at = (job: number, pred: (p: RestoreProgress) => boolean, last = false) => {
      const ix = events.map((e, k) => (e.job === job && pred(e.p) ? k : -1)).filter((k) => k >= 0);
      return last ? ix[ix.length - 1] : ix[0];
    };
    const lastStepOfFirst = at(0, (p) => !!p.step, true);
    // the second was decoded and ready while the first was still sampling, and waited for the engine
    expect(at(1, (p) => p.message === WAITING_FOR_ENGINE)).toBeLessThan(lastStepOfFirst);
    // the passes never interleave: every step of the first before any step of the second
    expect(at(1, (p) => !!p.step)).toBeGreaterThan(lastStepOfFirst);
    expect(at(1, (p) => p.message === 'restoring')).toBeGreaterThan(lastStepOfFirst);
    expect(inferenceLock.busy).toBe(false);
  }, 120_000);

  it('a job cancelled while it waits for the engine stops at once; the other finishes', async () => {
    const ac = new AbortController();
    // b starts only once a is inside the engine (else, on a busy machine, b could take the lock first and never wait)
    let inside!: () => void;
    const aInside = new Promise<void>((r) => (inside = r));
    const a = runRestore(req('p0.png', 'c0.png', 12), { onProgress: () => inferenceLock.busy && inside() });
    await aInside;
    const b = runRestore(req('p1.png', 'c1.png'), { signal: ac.signal, onProgress: (p) => p.message === WAITING_FOR_ENGINE && ac.abort() });
    await expect(b).rejects.toSatisfy(isCancel);
    expect(inferenceLock.busy).toBe(true); // a is still inside
    const outcome = await a;
    expect(fs.existsSync(outcome.outputPath)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'c1.png'))).toBe(false);
    expect(inferenceLock.busy).toBe(false);
  }, 120_000);

  it('with the helper thread: the same bytes and the same metrics as without', async () => {
    const off = new OffloadThread(HOST);
    try {
      const plain = await runRestore(req('p2.png', 'here.png'));
      const helped = await runRestore(req('p2.png', 'helped.png'), { offload: off });
      expect(fs.readFileSync(path.join(dir, 'helped.png')).equals(fs.readFileSync(path.join(dir, 'here.png')))).toBe(true);
      expect(helped.metrics).toEqual(plain.metrics);
      expect(Object.keys(plain.metrics)).toContain('lrPsnr');
    } finally {
      await off.close();
    }
  }, 120_000);
});

describe('the helper thread (offload.ts)', () => {
  it('answers as the calling thread does: degradation estimate, metrics, faces', async () => {
    const off = new OffloadThread(HOST);
    try {
      const file = hasShared ? path.join(SHARED_DATA, 'real/old/family_grey_04.jpg') : path.join(dir, 'p0.png');
      const { rgb } = await decodeImage(file);
      const bytes = new Uint8Array(fs.readFileSync(file));
      expect(await off.estimateDegradation(rgb, bytes, file)).toEqual(estimateDegradation(rgb, bytes, file));
      const up = (await decodeImage(path.join(dir, 'here.png'))).rgb;
      const lr = (await decodeImage(path.join(dir, 'p2.png'))).rgb;
      expect(await off.resultMetrics(up, lr)).toEqual(await resultMetrics(up, lr));
      const faces = await off.detectPortraitFaces(rgb, { naturalBackground: true });
      expect(faces).toEqual(await detectPortraitFaces(rgb, { naturalBackground: true }));
      if (hasShared) expect(faces.length).toBeGreaterThan(0);
    } finally {
      await off.close();
    }
  }, 180_000);

  it("keeps an error's kind: an unreadable photo is an InputError with its code", async () => {
    const off = new OffloadThread(HOST);
    try {
      const e = await off.findFaces(path.join(dir, 'corrupt.png')).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).code).toBe('CORRUPT');
      expect((e as Error).message).toContain('corrupt.png');
    } finally {
      await off.close();
    }
  }, 60_000);

  it('a worker that dies mid-call: the call is answered in the calling thread, the next call starts a new worker', async () => {
    const off = new OffloadThread(HOST);
    try {
      const lr = (await decodeImage(path.join(dir, 'p2.png'))).rgb;
      const up = (await decodeImage(path.join(dir, 'here.png'))).rgb;
      const want = await resultMetrics(up, lr);
      expect(await off.resultMetrics(up, lr)).toEqual(want);
      const w = (off as unknown as { worker: { terminate(): Promise<number> } }).worker;
      const during = off.resultMetrics(up, lr);
      void w.terminate();
      expect(await during).toEqual(want);
      expect(await off.resultMetrics(up, lr)).toEqual(want);
      expect((off as unknown as { worker: unknown }).worker).not.toBe(w);
      expect((off as unknown as { worker: unknown }).worker).not.toBeNull();
    } finally {
      await off.close();
    }
  }, 60_000);
});

describe('the CLI on a folder, pipeline 1 and 2', () => {
  const ROOT = path.resolve(__dirname, '../..');
  const cli = (pipeline: number, inDir: string, out: string, lib: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const args = [path.join(ROOT, 'bin/daguerre.mjs'), 'restore', inDir, '-o', out, '--library', lib, '--scale', '2', '--method', 'auto', '--sampler', 'ddim:3', '--threads', '1', '--provider', 'cpu', '--json'];
      const p = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, DAGUERRE_MODELS: FIX, DAGUERRE_PIPELINE: String(pipeline) } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const files = (d: string) => fs.readdirSync(d, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(d, f)).isFile()).sort();

  it('restores every photo once, to byte-identical files; with 2 the jobs overlap', async () => {
    const inDir = path.join(dir, 'folder');
    fs.mkdirSync(inDir);
    for (let i = 0; i < 5; i++) {
      const px = Buffer.alloc(36 * 28 * 3);
      for (let k = 0; k < px.length; k++) px[k] = (k * (5 + i) + 17 * i) & 255;
      const img = sharp(px, { raw: { width: 36, height: 28, channels: 3 } });
      await (i === 4 ? img.jpeg({ quality: 70 }).toFile(path.join(inDir, `q${i}.jpg`)) : img.png().toFile(path.join(inDir, `q${i}.png`)));
    }
    const faceSrc = path.join(SHARED_DATA, 'faces/ffhq-train-256/00003.jpg');
    if (hasShared && fs.existsSync(faceSrc)) {
      const face = await sharp(faceSrc).resize(20, 20).removeAlpha().png().toBuffer();
      await sharp({ create: { width: 112, height: 112, channels: 3, background: '#807060' } }).composite([{ input: face, left: 46, top: 46 }]).png().toFile(path.join(inDir, 'face.png'));
    }
    const runs = [];
    for (const pipeline of [1, 2]) {
      const out = path.join(dir, `cli-out-${pipeline}`);
      const lib = path.join(dir, `cli-lib-${pipeline}`);
      const r = await cli(pipeline, inDir, out, lib);
      expect(r.code, r.stderr).toBe(0);
      const db = new Database(path.join(lib, 'library.sqlite'), { readonly: true });
      const jobs = db.prepare(`SELECT id, started_at AS s, finished_at AS f, state FROM jobs ORDER BY id`).all() as { id: number; s: string; f: string; state: string }[];
      const perPhoto = db.prepare(`SELECT COUNT(r.id) AS n FROM photos p LEFT JOIN results r ON r.photo_id = p.id GROUP BY p.id`).all() as { n: number }[];
      db.close();
      runs.push({ out, json: JSON.parse(r.stdout) as { done: number; files: { input: string; method?: string }[] }, jobs, perPhoto });
    }
    const [one, two] = runs;
    const n = fs.readdirSync(inDir).length;
    for (const r of runs) {
      expect(r.json.done).toBe(n);
      expect(r.perPhoto).toEqual(Array.from({ length: n }, () => ({ n: 1 })));
      expect(r.jobs.every((j) => j.state === 'done')).toBe(true);
    }
    expect(files(two.out)).toEqual(files(one.out));
    expect(files(one.out)).toHaveLength(n);
    for (const f of files(one.out)) expect(fs.readFileSync(path.join(two.out, f)).equals(fs.readFileSync(path.join(one.out, f))), f).toBe(true);
    const methods = (r: (typeof runs)[number]) => Object.fromEntries(r.json.files.map((f) => [path.basename(f.input), f.method]));
    expect(methods(two)).toEqual(methods(one));
    if (fs.existsSync(path.join(inDir, 'face.png'))) expect(methods(one)['face.png']).toBe('portrait');
    // one at a time: each job starts after the one before finished; two in flight: some start before
    const overlaps = (jobs: (typeof one)['jobs']) => jobs.slice(1).filter((j, k) => j.s < jobs[k].f).length;
    expect(overlaps(one.jobs)).toBe(0);
    expect(overlaps(two.jobs)).toBeGreaterThan(0);
  }, 240_000);
});
