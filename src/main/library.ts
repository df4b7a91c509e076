/**
 * The photo library: photos imported by reference (originals are never written), duplicates found
 * by content hash, thumbnails and outputs kept in the library folder, results recorded per photo.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { DB } from './db';
import { nowIso, stmt } from './db';
import { IMAGE_EXTENSIONS, makeThumbnail, probeImage } from '../engine/image-io';
import { InputError, oneLine } from '../engine/errors';
import type { ImportReport, Photo, PhotoPrefs, Result, ResultFields } from '../shared/types';
import type { LibraryListQuery } from '../shared/contract';

/** A photos row as SQLite returns it: Photo's plain columns, the rest in their stored form. */
type PhotoRow = Pick<Photo, 'id' | 'path' | 'name' | 'hash' | 'size' | 'format' | 'width' | 'height'> & {
  exif: string | null;
  added_at: string;
  prefs: string | null;
  missing: number;
  result_count: number;
  last_result_at: string | null;
};

interface ResultRow {
  id: number;
  photo_id: number;
  job_id: number | null;
  kind: string;
  method: string;
  model_id: string | null;
  model_version: string | null;
  scale: number;
  knob: number | null;
  split_n: number | null;
  seed: number | null;
  calls: number;
  duration_ms: number;
  output_path: string;
  width: number;
  height: number;
  metrics: string;
  info: string;
  repair_source: string | null;
  repair_mask: string | null;
  repair_coverage: number | null;
  repair_pixels: number | null;
  created_at: string;
}

/** A library.list query, defaults filled in: inferred from the contract's schema (src/shared/contract.ts). */
export type ListQuery = LibraryListQuery;

export interface NewResult extends ResultFields {
  photoId: number;
  jobId: number | null;
  kind: 'restore' | 'preview';
}

const PHOTO_COLS = `p.*,
  (SELECT COUNT(*) FROM results r WHERE r.photo_id = p.id AND r.kind = 'restore') AS result_count,
  (SELECT MAX(created_at) FROM results r WHERE r.photo_id = p.id AND r.kind = 'restore') AS last_result_at`;

function toPhoto(r: PhotoRow): Photo {
  return {
    id: r.id,
    path: r.path,
    name: r.name,
    hash: r.hash,
    size: r.size,
    format: r.format,
    width: r.width,
    height: r.height,
    exif: r.exif ? JSON.parse(r.exif) : null,
    addedAt: r.added_at,
    resultCount: r.result_count ?? 0,
    lastResultAt: r.last_result_at ?? null,
    prefs: r.prefs ? JSON.parse(r.prefs) : null,
    missing: !!r.missing,
  };
}

function toResult(r: ResultRow): Result {
  return {
    id: r.id,
    photoId: r.photo_id,
    kind: r.kind as Result['kind'],
    method: r.method,
    modelId: r.model_id,
    modelVersion: r.model_version,
    scale: r.scale,
    knob: r.knob,
    splitN: r.split_n,
    seed: r.seed,
    calls: r.calls,
    durationMs: r.duration_ms,
    outputPath: r.output_path,
    width: r.width,
    height: r.height,
    metrics: JSON.parse(r.metrics),
    info: JSON.parse(r.info),
    repair: r.repair_source ? { source: r.repair_source as 'file' | 'detected', mask: r.repair_mask, coverage: r.repair_coverage ?? 0, pixels: r.repair_pixels ?? 0 } : null,
    createdAt: r.created_at,
  };
}

export async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    fs.createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve())
      .on('error', reject);
  });
  return h.digest('hex');
}

/** Expands folders recursively into image files (sorted, hidden entries skipped). */
/**
 * The image files under the given paths. A path given explicitly is taken as it is (a link to a file
 * or folder is followed); inside a folder, links to folders are never followed (a `self -> .` loop
 * used to hang the walk) and a link to a file is followed only when its target lies inside that
 * folder (an imported folder never pulls in files from elsewhere). Each folder is read once (by
 * device and inode) and each file listed once. A FIFO, socket or device is refused with one line.
 */
export async function expandInputs(paths: string[]): Promise<{ files: string[]; failed: { path: string; error: string }[] }> {
  const files: string[] = [];
  const failed: { path: string; error: string }[] = [];
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  const key = (st: fs.Stats) => `${st.dev}:${st.ino}`;
  const addFile = (p: string, st: fs.Stats) => {
    if (seenFiles.has(key(st))) return;
    seenFiles.add(key(st));
    files.push(p);
  };
  const inside = (real: string, rootReal: string) => {
    const rel = path.relative(rootReal, real);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  async function walkDir(dir: string, st: fs.Stats, rootReal: string): Promise<void> {
    if (seenDirs.has(key(st))) return;
    seenDirs.add(key(st));
    let entries: string[];
    try {
      entries = (await fsp.readdir(dir)).filter((e) => !e.startsWith('.')).sort();
    } catch (e) {
      failed.push({ path: dir, error: `${dir}: cannot read folder (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e);
      let lst: fs.Stats;
      try {
        lst = await fsp.lstat(p);
      } catch {
        continue; // vanished while walking
      }
      if (lst.isDirectory()) await walkDir(p, lst, rootReal);
      else if (lst.isFile()) {
        if (IMAGE_EXTENSIONS.has(path.extname(p).toLowerCase())) addFile(p, lst);
      } else if (lst.isSymbolicLink() && IMAGE_EXTENSIONS.has(path.extname(p).toLowerCase())) {
        // A link to a file inside this folder is followed; links to folders and to anything outside are not.
        try {
          const real = await fsp.realpath(p);
          const tst = await fsp.stat(real);
          if (tst.isFile() && inside(real, rootReal)) addFile(p, tst);
        } catch {
          /* dangling link: nothing to import */
        }
      }
    }
  }
  for (const arg of paths) {
    const p = path.resolve(arg);
    let st: fs.Stats;
    try {
      st = await fsp.stat(p);
    } catch {
      failed.push({ path: p, error: `${p}: file not found` });
      continue;
    }
    if (st.isDirectory()) await walkDir(p, st, await fsp.realpath(p));
    else if (st.isFile()) addFile(p, st);
    else failed.push({ path: p, error: `${p}: not a regular file or folder (a pipe, socket or device cannot be restored)` });
  }
  return { files, failed };
}

export class Library {
  readonly thumbsDir: string;
  readonly resultsDir: string;
  constructor(
    readonly db: DB,
    readonly dataDir: string,
  ) {
    this.thumbsDir = path.join(dataDir, 'thumbs');
    this.resultsDir = path.join(dataDir, 'results');
    fs.mkdirSync(this.thumbsDir, { recursive: true });
    fs.mkdirSync(this.resultsDir, { recursive: true });
  }

  thumbPath(id: number): string {
    return path.join(this.thumbsDir, `${id}.webp`);
  }

  list(q: ListQuery): { items: Photo[]; total: number } {
    const where: string[] = [];
    const args: Record<string, unknown> = {};
    if (q.search.trim()) {
      where.push(`p.name LIKE @search ESCAPE '\\'`);
      args.search = `%${q.search.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
    if (q.filter === 'processed') where.push(`EXISTS (SELECT 1 FROM results r WHERE r.photo_id = p.id AND r.kind = 'restore')`);
    if (q.filter === 'unprocessed') where.push(`NOT EXISTS (SELECT 1 FROM results r WHERE r.photo_id = p.id AND r.kind = 'restore')`);
    if (q.filter === 'missing') where.push(`p.missing = 1`);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const dir = q.desc ? 'DESC' : 'ASC';
    const order =
      q.sort === 'name' ? `p.name COLLATE NOCASE ${dir}, p.id ${dir}` : q.sort === 'processed' ? `last_result_at ${dir} NULLS LAST, p.id ${dir}` : `p.added_at ${dir}, p.id ${dir}`;
    // One statement per combination of search, filter and order (at most 2 × 4 × 6).
    const total = (stmt(this.db, `SELECT COUNT(*) AS n FROM photos p ${w}`).get(args) as { n: number }).n;
    const rows = stmt(this.db, `SELECT ${PHOTO_COLS} FROM photos p ${w} ORDER BY ${order} LIMIT @limit OFFSET @offset`).all({ ...args, limit: q.limit, offset: q.offset }) as PhotoRow[];
    return { items: rows.map(toPhoto), total };
  }

  get(id: number): Photo | null {
    const row = stmt(this.db, `SELECT ${PHOTO_COLS} FROM photos p WHERE p.id = ?`).get(id) as PhotoRow | undefined;
    return row ? toPhoto(row) : null;
  }

  byPath(p: string): Photo | null {
    const row = stmt(this.db, `SELECT ${PHOTO_COLS} FROM photos p WHERE p.path = ?`).get(p) as PhotoRow | undefined;
    return row ? toPhoto(row) : null;
  }

  /**
   * Imports files (folders are expanded). Each file is probed, hashed and thumbnailed; a failure
   * names the file and the reason and the rest goes on. Same content twice is a duplicate.
   */
  async import(paths: string[], onProgress?: (i: number, n: number) => void): Promise<ImportReport> {
    const report: ImportReport = { imported: [], duplicates: [], failed: [] };
    const { files, failed } = await expandInputs(paths);
    report.failed.push(...failed);
    const insert = stmt(
      this.db,
      `INSERT INTO photos (path, name, hash, size, format, width, height, exif, added_at) VALUES (@path, @name, @hash, @size, @format, @width, @height, @exif, @added_at)`,
    );
    for (let i = 0; i < files.length; i++) {
      const file = files[i];
      onProgress?.(i, files.length);
      try {
        const existingPath = this.byPath(file);
        if (existingPath) {
          report.duplicates.push({ path: file, existingId: existingPath.id });
          continue;
        }
        const meta = await probeImage(file);
        const hash = await hashFile(file);
        const dup = stmt(this.db, `SELECT id, path FROM photos WHERE hash = ?`).get(hash) as { id: number; path: string } | undefined;
        if (dup) {
          // The same content whose original has gone from where it was (moved, renamed, re-copied): the photo
          // now lives here, with its results and settings; else every restore of it would fail "missing".
          if (!fs.existsSync(dup.path)) stmt(this.db, `UPDATE photos SET path = ?, name = ? WHERE id = ?`).run(file, path.basename(file), dup.id);
          report.duplicates.push({ path: file, existingId: dup.id });
          continue;
        }
        // Decode fully once (thumbnail) so truncated files are caught at import.
        const tmpThumb = path.join(this.thumbsDir, `.import-${process.pid}-${i}.webp`);
        await makeThumbnail(file, tmpThumb);
        const exif = { ...meta.exif, orientation: meta.orientation, hasIcc: !!meta.icc };
        const info = insert.run({
          path: file,
          name: path.basename(file),
          hash,
          size: meta.bytes,
          format: meta.format,
          width: meta.width,
          height: meta.height,
          exif: JSON.stringify(exif),
          added_at: nowIso(),
        });
        const id = Number(info.lastInsertRowid);
        await fsp.rename(tmpThumb, this.thumbPath(id));
        report.imported.push(this.get(id)!);
      } catch (e) {
        report.failed.push({ path: file, error: e instanceof InputError ? e.message : `${file}: ${oneLine(e)}` });
      }
    }
    onProgress?.(files.length, files.length);
    return report;
  }

  /** Removes photos from the library, with their thumbnails, results and outputs; originals are untouched. */
  async remove(ids: number[]): Promise<number> {
    let removed = 0;
    for (const id of ids) {
      const photo = this.get(id);
      if (!photo) continue;
      const outputs = stmt(this.db, `SELECT output_path FROM results WHERE photo_id = ?`).all(id) as { output_path: string }[];
      stmt(this.db, `DELETE FROM photos WHERE id = ?`).run(id);
      removed++;
      await fsp.rm(this.thumbPath(id), { force: true });
      for (const o of outputs) if (this.ownsFile(o.output_path)) await fsp.rm(o.output_path, { force: true });
      await fsp.rm(path.join(this.resultsDir, String(id)), { recursive: true, force: true });
    }
    return removed;
  }

  /** Merges into the photo's remembered settings; a face field given as null is forgotten. */
  setPrefs(id: number, prefs: PhotoPrefs | { [K in keyof PhotoPrefs]?: PhotoPrefs[K] | null }): Photo | null {
    const p = this.get(id);
    if (!p) return null;
    const merged: Record<string, unknown> = { ...(p.prefs ?? {}), ...prefs };
    for (const k of Object.keys(merged)) if (merged[k] === null || merged[k] === undefined) delete merged[k];
    stmt(this.db, `UPDATE photos SET prefs = ? WHERE id = ?`).run(JSON.stringify(merged), id);
    return this.get(id);
  }

  markMissing(id: number, missing: boolean): void {
    stmt(this.db, `UPDATE photos SET missing = ? WHERE id = ?`).run(missing ? 1 : 0, id);
  }

  /** True when `file` lies in the library folder (files the app may delete). */
  ownsFile(file: string): boolean {
    const rel = path.relative(this.dataDir, path.resolve(file));
    return !!rel && !rel.startsWith('..') && !path.isAbsolute(rel);
  }

  resultOutputPath(photoId: number, jobId: number, name: string): string {
    return path.join(this.resultsDir, String(photoId), `${jobId}_${name}`);
  }

  addResult(r: NewResult): Result {
    const { repair, ...rest } = r;
    const info = stmt(
      this.db,
      `INSERT INTO results (photo_id, job_id, kind, method, model_id, model_version, scale, knob, split_n, seed, calls, duration_ms, output_path, width, height, metrics, info, repair_source, repair_mask, repair_coverage, repair_pixels, created_at)
         VALUES (@photoId, @jobId, @kind, @method, @modelId, @modelVersion, @scale, @knob, @splitN, @seed, @calls, @durationMs, @outputPath, @width, @height, @metrics, @info, @repairSource, @repairMask, @repairCoverage, @repairPixels, @createdAt)`,
    ).run({
      ...rest,
      metrics: JSON.stringify(r.metrics),
      info: JSON.stringify(r.info),
      repairSource: repair?.source ?? null,
      repairMask: repair?.mask ?? null,
      repairCoverage: repair?.coverage ?? null,
      repairPixels: repair?.pixels ?? null,
      createdAt: nowIso(),
    });
    return this.getResult(Number(info.lastInsertRowid))!;
  }

  resultForJob(jobId: number): Result | null {
    const row = stmt(this.db, `SELECT * FROM results WHERE job_id = ?`).get(jobId) as ResultRow | undefined;
    return row ? toResult(row) : null;
  }

  listResults(photoId: number): Result[] {
    return (stmt(this.db, `SELECT * FROM results WHERE photo_id = ? ORDER BY id DESC`).all(photoId) as ResultRow[]).map(toResult);
  }

  getResult(id: number): Result | null {
    const row = stmt(this.db, `SELECT * FROM results WHERE id = ?`).get(id) as ResultRow | undefined;
    return row ? toResult(row) : null;
  }

  async deleteResult(id: number): Promise<number> {
    const r = this.getResult(id);
    if (!r) return 0;
    stmt(this.db, `DELETE FROM results WHERE id = ?`).run(id);
    if (this.ownsFile(r.outputPath)) await fsp.rm(r.outputPath, { force: true });
    return 1;
  }
}
