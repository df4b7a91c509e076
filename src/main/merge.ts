/**
 * `daguerre library merge`: folds shard libraries (issue 20) into one. Photos are the same photo when
 * both their content (sha256) and path match; results are the same result when photo, output path,
 * kind, method, model, scale, knob and seed match (job ids are per library, so they are not kept).
 * Idempotent: merging the same shards again adds nothing. Sources are opened read-only and originals
 * are never touched; thumbnails are copied when present. Every source is checked before anything is
 * written: a folder without library.sqlite, or a library of a newer schema, is refused with one line.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MIGRATIONS, openDatabase, stmt, type DB } from './db';

export interface MergeReport {
  into: string;
  sources: { dir: string; photos: number; results: number; photosAdded: number; resultsAdded: number }[];
  photosAdded: number;
  resultsAdded: number;
  photos: number;
  results: number;
}

export class MergeError extends Error {}

const PHOTO_COLS = ['path', 'name', 'hash', 'size', 'format', 'width', 'height', 'exif', 'added_at', 'prefs', 'missing'] as const;
const RESULT_COLS = ['kind', 'method', 'model_id', 'model_version', 'scale', 'knob', 'split_n', 'seed', 'calls', 'duration_ms', 'output_path', 'width', 'height', 'metrics', 'info', 'repair_source', 'repair_mask', 'repair_coverage', 'repair_pixels', 'created_at'] as const;

/** Opens a source library read-only after checking it is one and not of a newer schema. */
export function openSource(dir: string): DB {
  const file = path.join(path.resolve(dir), 'library.sqlite');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new MergeError(`${dir}: not a folder`);
  if (!fs.existsSync(file)) throw new MergeError(`${dir}: not a Daguerre library (no library.sqlite)`);
  const nativeBinding = process.env.DAGUERRE_SQLITE_BINDING || undefined;
  let db: DB;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, ...(nativeBinding ? { nativeBinding } : {}) });
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      db.close();
      throw new MergeError(`${dir}: library schema version ${version} is newer than this Daguerre (${MIGRATIONS.length}); update Daguerre to merge it`);
    }
    const tables = (stmt(db, `SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((t) => t.name);
    if (!tables.includes('photos') || !tables.includes('results')) {
      db.close();
      throw new MergeError(`${dir}: not a Daguerre library (library.sqlite has no photos/results tables)`);
    }
  } catch (e) {
    if (e instanceof MergeError) throw e;
    throw new MergeError(`${dir}: not a Daguerre library (${(e as Error).message.split('\n')[0]})`);
  }
  return db;
}

/** Merges `sources` (library folders) into the library at `into` (created when absent). */
export function mergeLibraries(sources: string[], into: string): MergeReport {
  const intoAbs = path.resolve(into);
  for (const s of sources) if (path.resolve(s) === intoAbs) throw new MergeError(`${s}: is the --into library itself`);
  const srcs = sources.map((dir) => ({ dir, db: openSource(dir) }));
  const dest = openDatabase(path.join(intoAbs, 'library.sqlite'));
  const thumbs = path.join(intoAbs, 'thumbs');
  fs.mkdirSync(thumbs, { recursive: true });
  fs.mkdirSync(path.join(intoAbs, 'results'), { recursive: true });
  const report: MergeReport = { into: intoAbs, sources: [], photosAdded: 0, resultsAdded: 0, photos: 0, results: 0 };
  try {
    const findPhoto = stmt(dest, `SELECT id FROM photos WHERE hash = ? AND path = ?`);
    const pathTaken = stmt(dest, `SELECT id, hash FROM photos WHERE path = ?`);
    const insPhoto = stmt(dest, `INSERT INTO photos (${PHOTO_COLS.join(', ')}) VALUES (${PHOTO_COLS.map((c) => '@' + c).join(', ')})`);
    const findResult = stmt(
      dest,
      `SELECT id FROM results WHERE photo_id = @photo_id AND output_path = @output_path AND kind = @kind AND method = @method
         AND model_id IS @model_id AND model_version IS @model_version AND scale = @scale AND knob IS @knob AND seed IS @seed`,
    );
    const insResult = stmt(dest, `INSERT INTO results (photo_id, job_id, ${RESULT_COLS.join(', ')}) VALUES (@photo_id, NULL, ${RESULT_COLS.map((c) => '@' + c).join(', ')})`);
    for (const { dir, db } of srcs) {
      const photos = stmt(db, `SELECT * FROM photos ORDER BY id`).all() as Record<string, unknown>[];
      const results = stmt(db, `SELECT * FROM results ORDER BY id`).all() as Record<string, unknown>[];
      const one = { dir, photos: photos.length, results: results.length, photosAdded: 0, resultsAdded: 0 };
      const copyThumbs: [string, string][] = [];
      dest.transaction(() => {
        const idMap = new Map<number, number>();
        for (const p of photos) {
          const hit = findPhoto.get(p.hash, p.path) as { id: number } | undefined;
          if (hit) {
            idMap.set(p.id as number, hit.id);
            continue;
          }
          const taken = pathTaken.get(p.path) as { id: number; hash: string } | undefined;
          if (taken) throw new MergeError(`${dir}: ${p.path} has other content (sha256 ${String(p.hash).slice(0, 12)}…) than in ${into} (${taken.hash.slice(0, 12)}…); the file changed between shard runs`);
          const row = Object.fromEntries(PHOTO_COLS.map((c) => [c, p[c] ?? null]));
          row.missing = (p.missing as number) ?? 0;
          const id = Number(insPhoto.run(row).lastInsertRowid);
          idMap.set(p.id as number, id);
          one.photosAdded++;
          const t = path.join(path.resolve(dir), 'thumbs', `${p.id}.webp`);
          if (fs.existsSync(t)) copyThumbs.push([t, path.join(thumbs, `${id}.webp`)]);
        }
        for (const r of results) {
          const photoId = idMap.get(r.photo_id as number);
          if (photoId === undefined) continue;
          const row = { photo_id: photoId, ...Object.fromEntries(RESULT_COLS.map((c) => [c, r[c] ?? null])) };
          if (findResult.get(row)) continue;
          insResult.run(row);
          one.resultsAdded++;
        }
      })();
      for (const [from, to] of copyThumbs) if (!fs.existsSync(to)) fs.copyFileSync(from, to);
      report.sources.push(one);
      report.photosAdded += one.photosAdded;
      report.resultsAdded += one.resultsAdded;
    }
    report.photos = (stmt(dest, `SELECT COUNT(*) AS n FROM photos`).get() as { n: number }).n;
    report.results = (stmt(dest, `SELECT COUNT(*) AS n FROM results`).get() as { n: number }).n;
    return report;
  } finally {
    dest.close();
    for (const s of srcs) s.db.close();
  }
}
