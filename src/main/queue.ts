/**
 * The job queue, persisted in SQLite. It keeps up to `pipeline` jobs (default 2) in flight on the one
 * engine host, which runs them concurrently but lets one at a time into onnxruntime (restore.ts's
 * inference lock): the next photo's decode and face detection and the last one's encode and write
 * overlap with the current one's inference (issue 19.3). Outputs are the same as one at a time. A job
 * whose output is over PIPELINE_SOLO_PIXELS runs alone (its memory is not doubled; its inference is
 * nearly all of its time), and after an engine crash the re-runs go one at a time until every crashed
 * job has finished, so a job that kills the host cannot use up the attempts of the one beside it.
 * The process owns its library
 * (acquireLibraryLock in core.ts), so a job left `running` is a crash's and is re-queued at start;
 * the result row and the job's `done` state are written in one transaction, keyed by job id, so a
 * re-run never duplicates a result. Enqueueing to an explicit output path reuses an unfinished job
 * for the same photo, params and path (a crashed run's), so re-running a command runs each photo once.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { DB } from './db';
import { nowIso, stmt } from './db';
import type { Library } from './library';
import { EngineError, type EngineClient } from './engine-client';
import type { Job, JobKind, JobProgress, JobState, RestoreParams, Result, Settings } from '../shared/types';
import type { EncodeFormat } from '../engine/image-io';
import { outputNameFor, WAITING_FOR_ENGINE } from '../engine/restore';
import { repairRequest } from './repair';

interface JobRow {
  id: number;
  kind: string;
  state: JobState;
  photo_id: number;
  batch_id: string | null;
  params: string;
  output_path: string | null;
  progress: string;
  error: string | null;
  error_code: string | null;
  result_id: number | null;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  photo_name: string | null;
}

const MAX_ATTEMPTS = 3;

/** Jobs whose output has more pixels than this run alone, never beside another (issue 19.3). */
export const PIPELINE_SOLO_PIXELS = 16_000_000;

/** The pipeline depth when none is given: DAGUERRE_PIPELINE (1 = one at a time, as before issue 19.3), else 2. */
export function defaultPipeline(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.DAGUERRE_PIPELINE);
  return Number.isInteger(n) && n >= 1 && n <= 16 ? n : 2;
}

export interface QueueOptions {
  modelDirs: string[];
  settings: () => Settings;
  /** Jobs in flight on the engine host at once (default defaultPipeline(): 2). */
  pipeline?: number;
}

export interface EnqueueOptions {
  batchId?: string;
  /** Explicit output file (CLI); default: a file in the library's results folder. */
  outputPath?: (photoId: number) => string | undefined;
}

export interface QueueEvents {
  progress: [Job];
  finished: [Job, Result | null];
  batchFinished: [{ batchId: string; done: number; failed: number; cancelled: number }];
}

export class JobQueue extends EventEmitter<QueueEvents> {
  private active = new Map<number, { started: number; solo: boolean }>();
  private stopped = false;
  private pumping = false;
  private lastWrite = new Map<number, number>();
  private durations: number[] = [];
  /** When set, only these jobs are claimed and awaited (the CLI runs the jobs it asked for). */
  private only: number[] | null = null;

  constructor(
    private readonly db: DB,
    private readonly library: Library,
    private readonly engine: EngineClient,
    private readonly opts: QueueOptions,
  ) {
    super();
  }

  /** Re-queues jobs a crash left running, then starts working. */
  start(): number {
    const n = stmt(this.db, `UPDATE jobs SET state = 'queued', started_at = NULL WHERE state = 'running'`).run().changes;
    this.stopped = false;
    queueMicrotask(() => this.pump());
    return n;
  }

  /** Claim and await only these jobs from now on (null: every queued job). */
  restrictTo(ids: Iterable<number> | null): void {
    this.only = ids ? [...ids] : null;
  }

  /** The restriction to `only` as SQL (one text, so one statement) and its argument. */
  private onlyClause(idColumn = 'id'): { sql: string; args: string[] } {
    return this.only ? { sql: ` AND ${idColumn} IN (SELECT value FROM json_each(?))`, args: [JSON.stringify(this.only)] } : { sql: '', args: [] };
  }

  /**
   * True when `output` exists on disk with no result recorded for it while an unfinished job of
   * this library targets it: a crash (or a failed write of the result) after the file was written.
   * Such an output is redone, never taken as done.
   */
  unrecordedOutput(output: string): boolean {
    if (!fs.existsSync(output)) return false;
    const rec = stmt(this.db, `SELECT 1 FROM results WHERE output_path = ? LIMIT 1`).get(output);
    if (rec) return false;
    return !!stmt(this.db, `SELECT 1 FROM jobs WHERE output_path = ? AND state != 'done' LIMIT 1`).get(output);
  }

  stop(): void {
    this.stopped = true;
  }

  private row(id: number): JobRow | undefined {
    return stmt(this.db, `SELECT j.*, p.name AS photo_name FROM jobs j LEFT JOIN photos p ON p.id = j.photo_id WHERE j.id = ?`).get(id) as JobRow | undefined;
  }

  private toJob(r: JobRow): Job {
    return {
      id: r.id,
      kind: r.kind as JobKind,
      state: r.state,
      photoId: r.photo_id,
      photoName: r.photo_name ?? '',
      batchId: r.batch_id,
      params: JSON.parse(r.params),
      progress: JSON.parse(r.progress),
      error: r.error,
      resultId: r.result_id,
      attempts: r.attempts,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    };
  }

  get(id: number): Job | null {
    const r = this.row(id);
    return r ? this.toJob(r) : null;
  }

  list(states?: JobState[], limit = 1000): Job[] {
    const w = states?.length ? `WHERE j.state IN (${states.map(() => '?').join(',')})` : '';
    // One statement per number of states asked for.
    const rows = stmt(this.db, `SELECT j.*, p.name AS photo_name FROM jobs j LEFT JOIN photos p ON p.id = j.photo_id ${w} ORDER BY j.id DESC LIMIT ?`)
      .all(...(states ?? []), limit) as JobRow[];
    return rows.map((r) => this.toJob(r));
  }

  enqueue(photoIds: number[], params: RestoreParams, o: EnqueueOptions = {}): { batchId: string; jobs: Job[] } {
    const batchId = o.batchId ?? randomUUID();
    const kind: JobKind = params.region ? 'preview' : 'restore';
    const ins = stmt(
      this.db,
      `INSERT INTO jobs (kind, state, photo_id, batch_id, params, output_path, created_at) VALUES (?, 'queued', ?, ?, ?, ?, ?)`,
    );
    const json = JSON.stringify(params);
    const ids = this.db.transaction(() =>
      photoIds.map((pid) => {
        const out = o.outputPath?.(pid) ?? null;
        const reused = out === null ? null : this.reuseOrSupersede(pid, json, out, batchId);
        return reused ?? Number(ins.run(kind, pid, batchId, json, out, nowIso()).lastInsertRowid);
      }),
    )();
    const jobs = ids.map((id) => this.get(id)!);
    for (const j of jobs) this.emit('progress', j);
    queueMicrotask(() => this.pump());
    return { batchId, jobs };
  }

  /**
   * For a job to `output`: an unfinished job of the same photo and params to that path is reused
   * (moved to this batch, queued again unless this process is running it); other unfinished jobs
   * writing that path are cancelled as superseded. Returns the reused job's id, if any.
   */
  private reuseOrSupersede(photoId: number, params: string, output: string, batchId: string): number | null {
    const open = stmt(this.db, `SELECT id, photo_id, params FROM jobs WHERE output_path = ? AND state IN ('queued','running') ORDER BY id DESC`)
      .all(output) as { id: number; photo_id: number; params: string }[];
    const keep = open.find((j) => j.photo_id === photoId && j.params === params && !this.active.has(j.id)) ?? open.find((j) => this.active.has(j.id));
    for (const j of open) {
      if (j.id === keep?.id || this.active.has(j.id)) continue;
      stmt(this.db, `UPDATE jobs SET state = 'cancelled', finished_at = ?, error = ?, error_code = NULL WHERE id = ?`).run(nowIso(), `superseded by a new request for ${output}`, j.id);
    }
    if (!keep) return null;
    if (this.active.has(keep.id)) return keep.photo_id === photoId && keep.params === params ? keep.id : null;
    stmt(this.db, `UPDATE jobs SET state = 'queued', batch_id = ?, started_at = NULL, finished_at = NULL, attempts = 0, progress = '{"fraction":0}' WHERE id = ?`).run(batchId, keep.id);
    return keep.id;
  }

  cancel(id: number): Job | null {
    const r = this.row(id);
    if (!r) return null;
    if (r.state === 'queued') {
      stmt(this.db, `UPDATE jobs SET state = 'cancelled', finished_at = ?, error = NULL, error_code = NULL WHERE id = ? AND state = 'queued'`).run(nowIso(), id);
      const j = this.get(id)!;
      this.emit('finished', j, null);
      this.checkBatch(j.batchId);
    } else if (r.state === 'running') {
      this.engine.cancel(id);
    }
    return this.get(id);
  }

  cancelBatch(batchId: string): number {
    const rows = stmt(this.db, `SELECT id FROM jobs WHERE batch_id = ? AND state IN ('queued','running')`).all(batchId) as { id: number }[];
    for (const r of rows) this.cancel(r.id);
    return rows.length;
  }

  retry(id: number): Job | null {
    const r = this.row(id);
    if (!r) return null;
    if (r.state !== 'failed' && r.state !== 'cancelled') return this.toJob(r);
    stmt(this.db, `UPDATE jobs SET state = 'queued', error = NULL, error_code = NULL, progress = '{"fraction":0}', attempts = 0, started_at = NULL, finished_at = NULL WHERE id = ?`).run(id);
    const j = this.get(id)!;
    this.emit('progress', j);
    queueMicrotask(() => this.pump());
    return j;
  }

  clearFinished(): number {
    return stmt(this.db, `DELETE FROM jobs WHERE state IN ('done','failed','cancelled')`).run().changes;
  }

  /** Resolves when no job is queued or running. */
  async idle(timeoutMs = 600_000): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const only = this.onlyClause();
      const n = (stmt(this.db, `SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued','running')${only.sql}`).get(...only.args) as { n: number }).n;
      if (n === 0 && this.active.size === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('queue did not become idle in time');
  }

  /** The pipeline depth now: the option, or 1 while a job re-run after an engine crash is open. */
  pipelineDepth(): number {
    const depth = Math.max(1, Math.floor(this.opts.pipeline ?? defaultPipeline()));
    if (depth === 1) return 1;
    const only = this.onlyClause();
    const crashed = stmt(this.db, `SELECT 1 FROM jobs WHERE state IN ('queued','running') AND error_code = 'CRASH'${only.sql} LIMIT 1`).get(...only.args);
    return crashed ? 1 : depth;
  }

  /** Output pixels of a job (its region's or its photo's size × scale²); 0 when unknown. */
  private outputPixels(row: { params: string; width: number | null; height: number | null }): number {
    try {
      const p = JSON.parse(row.params) as RestoreParams;
      const w = p.region ? p.region.w : (row.width ?? 0);
      const h = p.region ? p.region.h : (row.height ?? 0);
      return w * h * p.scale * p.scale;
    } catch {
      return 0;
    }
  }

  private pump(): void {
    if (this.stopped || this.pumping) return;
    this.pumping = true;
    try {
      const limit = this.pipelineDepth();
      while (this.active.size < limit) {
        if ([...this.active.values()].some((a) => a.solo)) break;
        const only = this.onlyClause('j.id');
        const next = stmt(this.db, `SELECT j.id, j.params, p.width, p.height FROM jobs j LEFT JOIN photos p ON p.id = j.photo_id WHERE j.state = 'queued'${only.sql} ORDER BY j.kind = 'preview' DESC, j.id ASC LIMIT 1`).get(...only.args) as
          | { id: number; params: string; width: number | null; height: number | null }
          | undefined;
        if (!next) break;
        // A large output waits until it can run alone (FIFO: nothing overtakes it meanwhile).
        const solo = limit > 1 && this.outputPixels(next) > PIPELINE_SOLO_PIXELS;
        if (solo && this.active.size > 0) break;
        const claimed = stmt(this.db, `UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'queued'`).run(nowIso(), next.id).changes;
        if (!claimed) continue;
        this.active.set(next.id, { started: Date.now(), solo });
        void this.work(next.id);
      }
    } finally {
      this.pumping = false;
    }
  }

  private batchPosition(batchId: string | null, id: number): { i: number; n: number } | undefined {
    if (!batchId) return undefined;
    const r = stmt(this.db, `SELECT SUM(id <= ?) AS i, COUNT(*) AS n FROM jobs WHERE batch_id = ?`).get(id, batchId) as { i: number; n: number };
    return { i: r.i, n: r.n };
  }

  private setProgress(id: number, p: JobProgress, force = false): void {
    const now = Date.now();
    if (force || now - (this.lastWrite.get(id) ?? 0) > 1000) {
      stmt(this.db, `UPDATE jobs SET progress = ? WHERE id = ?`).run(JSON.stringify(p), id);
      this.lastWrite.set(id, now);
    }
    const j = this.get(id);
    if (j) this.emit('progress', { ...j, progress: p });
  }

  private async work(id: number): Promise<void> {
    const r = this.row(id)!;
    const params = JSON.parse(r.params) as RestoreParams;
    const settings = this.opts.settings();
    const photo = this.library.get(r.photo_id);
    const started = this.active.get(id)!.started;
    // The ETA counts from when the job got the engine: time spent waiting behind another job's inference is not its own.
    let etaFrom = started;
    let waiting = false;
    const image = this.batchPosition(r.batch_id, id);
    try {
      if (!photo) throw new EngineError('photo was removed from the library', 'NOT_FOUND');
      if (!fs.existsSync(photo.path)) {
        this.library.markMissing(photo.id, true);
        throw new EngineError(`${photo.path}: original file is missing`, 'NOT_FOUND');
      }
      const format = (params.format ?? settings.outputFormat) as EncodeFormat;
      const output = r.output_path ?? this.library.resultOutputPath(photo.id, id, outputNameFor(photo.name, params.scale, params.method, format));
      this.setProgress(id, { fraction: 0, image, message: 'starting' }, true);
      const outcome = await this.engine.run(
        id,
        {
          input: photo.path,
          output,
          params,
          format,
          quality: settings.outputQuality,
          keepMetadata: settings.keepMetadata,
          modelDirs: this.opts.modelDirs,
          threads: settings.threads,
          // After an engine crash on a GPU provider, the re-run uses the CPU (a driver fault would repeat).
          provider: r.error_code === 'CRASH' ? 'cpu' : settings.provider,
          precision: settings.precision,
          // No `repair` in the params: the mask painted for the photo (prefs.repair), if any; 'off' turns it off.
          repair: repairRequest(params.repair ?? photo.prefs?.repair),
        },
        (p) => {
          if (p.message === WAITING_FOR_ENGINE) waiting = true;
          else if (waiting) {
            waiting = false;
            etaFrom = Date.now();
          }
          const elapsed = Date.now() - etaFrom;
          const etaMs = p.fraction > 0.02 && !waiting ? Math.round((elapsed * (1 - p.fraction)) / p.fraction) : undefined;
          this.setProgress(id, { fraction: p.fraction, image, tile: p.tile, step: p.step, etaMs, message: p.message });
        },
      );
      const result = this.db.transaction(() => {
        const existing = this.library.resultForJob(id);
        const res =
          existing ??
          this.library.addResult({ photoId: photo.id, jobId: id, kind: r.kind as 'restore' | 'preview', ...outcome });
        stmt(this.db, `UPDATE jobs SET state = 'done', result_id = ?, finished_at = ?, error = NULL, error_code = NULL, progress = ? WHERE id = ?`).run(res.id, nowIso(), JSON.stringify({ fraction: 1, image }), id);
        return res;
      })();
      this.durations.push(Date.now() - started);
      this.finish(id, result);
    } catch (e) {
      const err = e instanceof EngineError ? e : new EngineError(e instanceof Error ? e.message.split('\n')[0] : String(e), 'INTERNAL');
      const attempts = this.row(id)?.attempts ?? 1;
      if (err.cancelled) {
        stmt(this.db, `UPDATE jobs SET state = 'cancelled', finished_at = ?, error = NULL, error_code = NULL WHERE id = ?`).run(nowIso(), id);
      } else if (err.crashed && attempts < MAX_ATTEMPTS) {
        // The engine host died under this job: run it again on a fresh host.
        stmt(this.db, `UPDATE jobs SET state = 'queued', started_at = NULL, error = ?, error_code = ? WHERE id = ?`).run(`${err.message}; retrying`, err.code, id);
        this.active.delete(id);
        this.emit('progress', this.get(id)!);
        queueMicrotask(() => this.pump());
        return;
      } else {
        const name = photo?.name ?? `photo ${r.photo_id}`;
        const msg = err.message.includes(photo?.path ?? '\0') || err.message.startsWith(name) ? err.message : `${name}: ${err.message}`;
        stmt(this.db, `UPDATE jobs SET state = 'failed', finished_at = ?, error = ?, error_code = ? WHERE id = ?`).run(nowIso(), msg, err.code, id);
      }
      this.finish(id, null);
    }
  }

  private finish(id: number, result: Result | null): void {
    this.active.delete(id);
    this.lastWrite.delete(id);
    const j = this.get(id);
    if (j) {
      this.emit('finished', j, result);
      this.checkBatch(j.batchId);
    }
    queueMicrotask(() => this.pump());
  }

  private checkBatch(batchId: string | null): void {
    if (!batchId) return;
    const r = stmt(
      this.db,
      `SELECT SUM(state IN ('queued','running')) AS open, SUM(state = 'done') AS done, SUM(state = 'failed') AS failed, SUM(state = 'cancelled') AS cancelled FROM jobs WHERE batch_id = ?`,
    ).get(batchId) as { open: number; done: number; failed: number; cancelled: number };
    if (r.open === 0) this.emit('batchFinished', { batchId, done: r.done ?? 0, failed: r.failed ?? 0, cancelled: r.cancelled ?? 0 });
  }

  /** Mean duration of finished jobs in this session (for ETAs). */
  meanDurationMs(): number | null {
    if (!this.durations.length) return null;
    return this.durations.reduce((a, b) => a + b, 0) / this.durations.length;
  }
}
