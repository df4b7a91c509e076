/**
 * The queue's re-run after an engine crash (issue 18.3): the CPU fallback is keyed on the failure's code
 * ('CRASH', kept in jobs.error_code), not on the error's text; and the queue's SQL is prepared once per
 * statement, never per progress tick. A real library database and queue, with a scripted engine.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate, openDatabase, type DB } from '../../src/main/db';
import { Library } from '../../src/main/library';
import { JobQueue } from '../../src/main/queue';
import { EngineError, type EngineClient } from '../../src/main/engine-client';
import type { RestoreOutcome, RestoreProgress, RestoreRequest } from '../../src/engine/restore';
import type { Job, Settings } from '../../src/shared/types';
import { tmpDir } from '../helpers/shared-data';

type Script = (call: number, req: RestoreRequest, onProgress?: (p: RestoreProgress) => void) => Promise<RestoreOutcome>;

function setup(script: Script) {
  const dir = tmpDir('daguerre-queue-crash-');
  const db = openDatabase(path.join(dir, 'library.sqlite'));
  const library = new Library(db, dir);
  const original = path.join(dir, 'photo.png');
  fs.writeFileSync(original, 'not decoded by the scripted engine');
  const photoId = Number(
    db
      .prepare(`INSERT INTO photos (path, name, hash, size, format, width, height, added_at) VALUES (?, 'photo.png', 'h', 1, 'png', 8, 8, ?)`)
      .run(original, new Date().toISOString()).lastInsertRowid,
  );
  const requests: RestoreRequest[] = [];
  const engine = {
    run: (_id: number, req: RestoreRequest, onProgress?: (p: RestoreProgress) => void) => {
      requests.push(req);
      return script(requests.length, req, onProgress);
    },
    cancel: () => {},
  } as unknown as EngineClient;
  const settings = { outputFormat: 'png', outputQuality: 90, keepMetadata: true, threads: 1, provider: 'webgpu', precision: 'int8' } as unknown as Settings;
  const queue = new JobQueue(db, library, engine, { modelDirs: [], settings: () => settings });
  queue.start();
  const finished = (id: number) =>
    new Promise<Job>((resolve) => {
      const on = (j: Job) => {
        if (j.id !== id) return;
        queue.off('finished', on);
        resolve(j);
      };
      queue.on('finished', on);
    });
  const codeOf = db.prepare(`SELECT error_code FROM jobs WHERE id = ?`);
  const run = async () => {
    const { jobs } = queue.enqueue([photoId], { scale: 4, method: 'tiny-x4' } as never, { outputPath: () => path.join(dir, `out-${requests.length}.png`) });
    const job = await finished(jobs[0].id);
    return { job, code: (codeOf.get(job.id) as { error_code: string | null }).error_code };
  };
  return { db, queue, requests, run, close: () => (queue.stop(), db.close()) };
}

const fail = (message: string, code: string, crashed = false) => Promise.reject(new EngineError(message, code, false, crashed));

describe('after an engine crash the re-run uses the cpu, by the failure code', () => {
  it('a crash (code CRASH) whose text is not the usual one still re-runs on the cpu', async () => {
    const t = setup((call) => (call === 1 ? fail('host went away (signal SIGSEGV)', 'CRASH', true) : fail('second run stops here', 'INTERNAL')));
    const { job, code } = await t.run();
    expect(t.requests.map((r) => r.provider)).toEqual(['webgpu', 'cpu']);
    // the precision setting goes with every request (the engine resolves it per provider: int8 only on the cpu)
    expect(t.requests.map((r) => r.precision)).toEqual(['int8', 'int8']);
    expect(job.state).toBe('failed');
    expect(job.error).toMatch(/second run stops here/);
    expect(code).toBe('INTERNAL');
    t.close();
  });

  it('an error that is not a crash keeps the provider even when its text reads like one', async () => {
    const t = setup((call) =>
      call === 1 ? fail('engine stopped unexpectedly (exit code 1), said the model', 'ENGINE', true) : fail('second run stops here', 'INTERNAL'),
    );
    const { job } = await t.run();
    expect(t.requests.map((r) => r.provider)).toEqual(['webgpu', 'webgpu']);
    expect(job.state).toBe('failed');
    t.close();
  });

  it('the crash code is kept while the job waits for its re-run, and cleared by a manual retry', async () => {
    const t = setup((call) => (call <= 3 ? fail(`crash ${call}`, 'CRASH', true) : fail('stop', 'INTERNAL')));
    const { job, code } = await t.run();
    // Three attempts, each a crash: the job fails with the crash's code; runs 2 and 3 were on the cpu.
    expect(t.requests.map((r) => r.provider)).toEqual(['webgpu', 'cpu', 'cpu']);
    expect(job.state).toBe('failed');
    expect(code).toBe('CRASH');
    const again = new Promise<void>((resolve) => t.queue.once('finished', () => resolve()));
    t.queue.retry(job.id);
    await again;
    expect(t.requests[3].provider).toBe('webgpu');
    t.close();
  });
});

describe('statements are prepared once', () => {
  it('a second job, with many progress ticks, prepares no statement', async () => {
    const ticks = (onProgress?: (p: RestoreProgress) => void) => {
      for (let i = 1; i <= 50; i++) onProgress?.({ fraction: i / 51, message: `tile ${i}` } as RestoreProgress);
    };
    const t = setup((_call, _req, onProgress) => (ticks(onProgress), fail('stop', 'INTERNAL')));
    await t.run(); // warms every statement a job runs through
    const prepare = t.db.prepare.bind(t.db);
    const prepared: string[] = [];
    (t.db as { prepare: DB['prepare'] }).prepare = ((sql: string) => (prepared.push(sql), prepare(sql))) as DB['prepare'];
    const { job } = await t.run();
    expect(job.state).toBe('failed');
    expect(t.requests).toHaveLength(2);
    expect(prepared).toEqual([]);
    t.close();
  });
});

describe('migration 4: jobs.error_code', () => {
  it('a version-3 library gets the column; a crash recorded by text before it reads as CRASH', () => {
    const file = path.join(tmpDir('daguerre-migrate-4-'), 'library.sqlite');
    const old = new Database(file);
    for (let v = 0; v < 3; v++) old.exec(MIGRATIONS[v]);
    old.pragma('user_version = 3');
    old.prepare(`INSERT INTO photos (path, name, hash, size, format, width, height, added_at) VALUES ('/p.png', 'p.png', 'h', 1, 'png', 8, 8, 'now')`).run();
    const ins = old.prepare(`INSERT INTO jobs (kind, state, photo_id, params, error, created_at) VALUES ('restore', 'queued', 1, '{}', ?, 'now')`);
    ins.run('engine stopped unexpectedly (exit code null); retrying');
    ins.run('p.png: file is corrupt');
    ins.run(null);
    old.close();
    const db = new Database(file);
    expect(migrate(db)).toBe(MIGRATIONS.length);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.prepare(`SELECT error_code FROM jobs ORDER BY id`).all()).toEqual([{ error_code: 'CRASH' }, { error_code: null }, { error_code: null }]);
    db.close();
  });
});
