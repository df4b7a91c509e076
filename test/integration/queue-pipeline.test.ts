/**
 * Issue 19.3, the queue side of the batch pipeline: up to `pipeline` jobs in flight on the one engine
 * (default 2; DAGUERRE_PIPELINE; 1 = one at a time), a large output runs alone, after an engine crash
 * the re-runs go one at a time (a job that kills the host cannot use up its neighbour's attempts),
 * exactly one result per job, cancel of a running job, per-job progress with an ETA that does not
 * count the time spent waiting behind the other job's inference. A real library database and queue,
 * with a scripted engine.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDatabase } from '../../src/main/db';
import { Library } from '../../src/main/library';
import { defaultPipeline, JobQueue, PIPELINE_SOLO_PIXELS } from '../../src/main/queue';
import { EngineError, type EngineClient } from '../../src/main/engine-client';
import { WAITING_FOR_ENGINE, type RestoreOutcome, type RestoreProgress, type RestoreRequest } from '../../src/engine/restore';
import type { Job, JobProgress, Settings } from '../../src/shared/types';
import { tmpDir } from '../helpers/shared-data';

interface Call {
  jobId: number;
  req: RestoreRequest;
  onProgress?: (p: RestoreProgress) => void;
  resolve: (o: RestoreOutcome) => void;
  reject: (e: EngineError) => void;
}

function outcome(req: RestoreRequest): RestoreOutcome {
  fs.writeFileSync(req.output, 'out');
  return { outputPath: req.output, width: 8, height: 8, method: 'tiny-x4', modelId: 'tiny-x4', modelVersion: '1', scale: 4, knob: 0.5, splitN: null, seed: 0, calls: 1, durationMs: 1, metrics: {}, info: {}, repair: null };
}

/** A queue on a real library whose engine answers only when the test says so. */
function setup(opts: { pipeline?: number; sizes?: [number, number][] } = {}) {
  const dir = tmpDir('daguerre-queue-pipeline-');
  const db = openDatabase(path.join(dir, 'library.sqlite'));
  const library = new Library(db, dir);
  const sizes = opts.sizes ?? Array.from({ length: 6 }, () => [32, 24] as [number, number]);
  const photoIds = sizes.map(([w, h], i) => {
    const file = path.join(dir, `p${i}.png`);
    fs.writeFileSync(file, 'not decoded by the scripted engine');
    return Number(
      db.prepare(`INSERT INTO photos (path, name, hash, size, format, width, height, added_at) VALUES (?, ?, ?, 1, 'png', ?, ?, ?)`).run(file, `p${i}.png`, `h${i}`, w, h, new Date().toISOString()).lastInsertRowid,
    );
  });
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const engine = {
    run: (jobId: number, req: RestoreRequest, onProgress?: (p: RestoreProgress) => void) =>
      new Promise<RestoreOutcome>((resolve, reject) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const done = <T>(f: (x: T) => void) => (x: T) => {
          inFlight--;
          f(x);
        };
        calls.push({ jobId, req, onProgress, resolve: done(resolve), reject: done(reject) });
      }),
    cancel: (jobId: number) => {
      const c = calls.find((x) => x.jobId === jobId);
      c?.reject(new EngineError('cancelled', 'CANCELLED', true));
    },
  } as unknown as EngineClient;
  const settings = { outputFormat: 'png', outputQuality: 90, keepMetadata: true, threads: 1, provider: 'cpu' } as unknown as Settings;
  const queue = new JobQueue(db, library, engine, { modelDirs: [], settings: () => settings, ...(opts.pipeline ? { pipeline: opts.pipeline } : {}) });
  const finished: Job[] = [];
  queue.on('finished', (j) => finished.push(j));
  const tick = () => new Promise((r) => setTimeout(r, 20));
  /** Waits until `n` engine calls were made (or fails after 2 s). */
  const callsMade = async (n: number) => {
    for (let i = 0; i < 100 && calls.length < n; i++) await tick();
    expect(calls.length).toBe(n);
  };
  const enqueue = (ids = photoIds) => {
    const jobs: Job[] = [];
    for (const pid of ids) jobs.push(...queue.enqueue([pid], { scale: 4, method: 'tiny-x4' } as never, { batchId: 'b', outputPath: () => path.join(dir, `out-${pid}.png`) }).jobs);
    return jobs;
  };
  const resultsPerJob = () => db.prepare(`SELECT j.id AS id, COUNT(r.id) AS n FROM jobs j LEFT JOIN results r ON r.job_id = j.id GROUP BY j.id ORDER BY j.id`).all() as { id: number; n: number }[];
  queue.start();
  return { db, queue, calls, photoIds, finished, tick, callsMade, enqueue, resultsPerJob, inFlight: () => inFlight, maxInFlight: () => maxInFlight, close: () => (queue.stop(), db.close()) };
}

describe('pipeline depth', () => {
  it('DAGUERRE_PIPELINE sets the default (2 when unset or not a depth)', () => {
    expect(defaultPipeline({})).toBe(2);
    expect(defaultPipeline({ DAGUERRE_PIPELINE: '1' })).toBe(1);
    expect(defaultPipeline({ DAGUERRE_PIPELINE: '3' })).toBe(3);
    expect(defaultPipeline({ DAGUERRE_PIPELINE: 'x' })).toBe(2);
    expect(defaultPipeline({ DAGUERRE_PIPELINE: '0' })).toBe(2);
  });

  for (const depth of [1, 2]) {
    it(`pipeline ${depth}: ${depth} job(s) in flight, in order, each done once with one result`, async () => {
      const t = setup({ pipeline: depth });
      const jobs = t.enqueue();
      for (let k = 0; k < jobs.length; k++) {
        await t.callsMade(Math.min(jobs.length, k + depth));
        await t.tick();
        expect(t.calls.length).toBe(Math.min(jobs.length, k + depth));
        const c = t.calls[k];
        expect(c.jobId).toBe(jobs[k].id);
        c.resolve(outcome(c.req));
      }
      await t.queue.idle(5000);
      expect(t.maxInFlight()).toBe(depth);
      expect(t.finished.map((j) => [j.id, j.state])).toEqual(jobs.map((j) => [j.id, 'done']));
      expect(t.resultsPerJob().map((r) => r.n)).toEqual(jobs.map(() => 1));
      t.close();
    });
  }

  it('a job whose output is over PIPELINE_SOLO_PIXELS runs alone; the ones after it wait for it', async () => {
    const big = Math.ceil(Math.sqrt(PIPELINE_SOLO_PIXELS / 16)) + 1; // ×4: just over the limit
    const t = setup({ pipeline: 2, sizes: [[32, 24], [big, big], [32, 24], [32, 24]] });
    const jobs = t.enqueue();
    await t.callsMade(1);
    await t.tick();
    expect(t.calls.length).toBe(1); // the big one waits for the first to finish
    t.calls[0].resolve(outcome(t.calls[0].req));
    await t.callsMade(2);
    await t.tick();
    expect(t.calls.length).toBe(2); // the big one alone
    expect(t.calls[1].jobId).toBe(jobs[1].id);
    t.calls[1].resolve(outcome(t.calls[1].req));
    await t.callsMade(4); // then two at a time again
    for (const c of t.calls.slice(2)) c.resolve(outcome(c.req));
    await t.queue.idle(5000);
    expect(t.resultsPerJob().map((r) => r.n)).toEqual([1, 1, 1, 1]);
    t.close();
  });
});

describe('an engine crash with two in flight', () => {
  it('both jobs re-run, one at a time, each done once; two at a time again afterwards', async () => {
    const t = setup({ pipeline: 2 });
    const jobs = t.enqueue();
    await t.callsMade(2);
    const crash = () => new EngineError('engine stopped unexpectedly (exit code signal)', 'CRASH', false, true);
    t.calls[0].reject(crash());
    t.calls[1].reject(crash());
    // the re-runs: one at a time, on the cpu
    await t.callsMade(3);
    await t.tick();
    expect(t.calls.length).toBe(3);
    expect(t.calls[2].jobId).toBe(jobs[0].id);
    t.calls[2].resolve(outcome(t.calls[2].req));
    await t.callsMade(4);
    await t.tick();
    expect(t.calls.length).toBe(4);
    expect(t.calls[3].jobId).toBe(jobs[1].id);
    t.calls[3].resolve(outcome(t.calls[3].req));
    // no crashed job left open: two in flight again
    await t.callsMade(6);
    expect(t.calls.slice(4).map((c) => c.jobId)).toEqual([jobs[2].id, jobs[3].id]);
    for (const c of t.calls.slice(4)) c.resolve(outcome(c.req));
    await t.callsMade(8);
    for (const c of t.calls.slice(6)) c.resolve(outcome(c.req));
    await t.queue.idle(5000);
    expect(t.resultsPerJob().map((r) => r.n)).toEqual(jobs.map(() => 1));
    expect(t.db.prepare(`SELECT attempts FROM jobs ORDER BY id`).all().map((r) => (r as { attempts: number }).attempts)).toEqual([2, 2, 1, 1, 1, 1]);
    t.close();
  });

  it('a job that crashes the engine every time fails alone; its neighbour is done', async () => {
    const t = setup({ pipeline: 2, sizes: [[32, 24], [32, 24]] });
    const jobs = t.enqueue();
    await t.callsMade(2);
    const crash = () => new EngineError('engine stopped unexpectedly (exit code signal)', 'CRASH', false, true);
    t.calls[0].reject(crash());
    t.calls[1].reject(crash());
    // job 0 crashes again twice, alone each time; then job 1 runs alone and is done
    await t.callsMade(3);
    t.calls[2].reject(crash());
    await t.callsMade(4);
    expect(t.calls[3].jobId).toBe(jobs[0].id);
    t.calls[3].reject(crash());
    await t.callsMade(5);
    expect(t.calls[4].jobId).toBe(jobs[1].id);
    t.calls[4].resolve(outcome(t.calls[4].req));
    await t.queue.idle(5000);
    expect(t.maxInFlight()).toBe(2);
    expect(t.finished.map((j) => [j.id, j.state])).toEqual([
      [jobs[0].id, 'failed'],
      [jobs[1].id, 'done'],
    ]);
    t.close();
  });
});

describe('progress and cancel with two in flight', () => {
  it('each job has its own progress; the ETA starts when the job gets the engine', async () => {
    const t = setup({ pipeline: 2, sizes: [[32, 24], [32, 24]] });
    const seen = new Map<number, JobProgress[]>();
    t.queue.on('progress', (j) => j.state === 'running' && seen.set(j.id, [...(seen.get(j.id) ?? []), j.progress]));
    const jobs = t.enqueue();
    await t.callsMade(2);
    const [a, b] = t.calls;
    a.onProgress?.({ fraction: 0.5, tile: { i: 1, n: 2 } });
    b.onProgress?.({ fraction: 0, message: WAITING_FOR_ENGINE });
    await new Promise((r) => setTimeout(r, 400)); // b waits 0.4 s behind a
    a.resolve(outcome(a.req));
    b.onProgress?.({ fraction: 0, message: 'restoring' });
    await new Promise((r) => setTimeout(r, 100));
    b.onProgress?.({ fraction: 0.5, tile: { i: 1, n: 2 } });
    const pb = seen.get(jobs[1].id)!;
    const waiting = pb.find((p) => p.message === WAITING_FOR_ENGINE)!;
    expect(waiting.etaMs).toBeUndefined();
    const half = pb[pb.length - 1];
    expect(half.fraction).toBe(0.5);
    // half done 0.1 s after it got the engine: about 0.1 s left, not the 0.5 s counted from its claim
    expect(half.etaMs).toBeGreaterThanOrEqual(80);
    expect(half.etaMs).toBeLessThan(350);
    expect(seen.get(jobs[0].id)!.every((p) => p.message !== WAITING_FOR_ENGINE)).toBe(true);
    b.resolve(outcome(b.req));
    await t.queue.idle(5000);
    t.close();
  });

  it('cancelling one running job leaves the other running, and the next one starts', async () => {
    const t = setup({ pipeline: 2, sizes: [[32, 24], [32, 24], [32, 24]] });
    const jobs = t.enqueue();
    await t.callsMade(2);
    t.queue.cancel(jobs[1].id);
    await t.callsMade(3);
    expect(t.calls[2].jobId).toBe(jobs[2].id);
    expect(t.queue.get(jobs[1].id)!.state).toBe('cancelled');
    expect(t.queue.get(jobs[0].id)!.state).toBe('running');
    t.calls[0].resolve(outcome(t.calls[0].req));
    t.calls[2].resolve(outcome(t.calls[2].req));
    await t.queue.idle(5000);
    expect(t.resultsPerJob().map((r) => r.n)).toEqual([1, 0, 1]);
    t.close();
  });
});
