/**
 * The library database: better-sqlite3, WAL, versioned migrations (numbered SQL, applied in order
 * inside a transaction, recorded in PRAGMA user_version).
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';

export type DB = Database.Database;

export const MIGRATIONS: string[] = [
  /* 1 */ `
  CREATE TABLE photos (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    format TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    exif TEXT,
    added_at TEXT NOT NULL,
    prefs TEXT,
    missing INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX photos_hash ON photos(hash);
  CREATE INDEX photos_added ON photos(added_at);
  CREATE INDEX photos_name ON photos(name COLLATE NOCASE);

  CREATE TABLE results (
    id INTEGER PRIMARY KEY,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    job_id INTEGER UNIQUE,
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    model_id TEXT,
    model_version TEXT,
    scale INTEGER NOT NULL,
    knob REAL,
    split_n INTEGER,
    seed INTEGER,
    calls INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL,
    output_path TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    info TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
  );
  CREATE INDEX results_photo ON results(photo_id, kind);

  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued','running','done','failed','cancelled')),
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    batch_id TEXT,
    params TEXT NOT NULL,
    output_path TEXT,
    progress TEXT NOT NULL DEFAULT '{"fraction":0}',
    error TEXT,
    result_id INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
  );
  CREATE INDEX jobs_state ON jobs(state, id);
  CREATE INDEX jobs_batch ON jobs(batch_id);
  `,
  /* 2: faces found per photo content (faces.detect), keyed by the file's sha256 and the detector */ `
  CREATE TABLE face_detections (
    hash TEXT NOT NULL,
    detector TEXT NOT NULL,
    faces TEXT NOT NULL,
    ms INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (hash, detector)
  );
  `,
  /* 3: damage repair of a result (issue 17): the mask's source ('file' | 'detected'; NULL: no repair asked), file, coverage, pixels */ `
  ALTER TABLE results ADD COLUMN repair_source TEXT;
  ALTER TABLE results ADD COLUMN repair_mask TEXT;
  ALTER TABLE results ADD COLUMN repair_coverage REAL;
  ALTER TABLE results ADD COLUMN repair_pixels INTEGER;
  `,
  /* 4: the code of the error a job last failed or was re-queued with (EngineError.code; 'CRASH': the engine host died,
        so the re-run uses the CPU). Rows written before it are read by their text, once, here. */ `
  ALTER TABLE jobs ADD COLUMN error_code TEXT;
  UPDATE jobs SET error_code = 'CRASH' WHERE error LIKE '%engine stopped unexpectedly%';
  `,
];

const STATEMENTS = new WeakMap<DB, Map<string, Database.Statement>>();

/**
 * The statement for `sql` on `db`, prepared on its first use and kept for the connection's life (keyed
 * by the SQL text, so a query built from a bounded set of pieces gets one statement per variant).
 * Every statement in src/main goes through here: nothing is prepared per call or per progress tick.
 */
export function stmt(db: DB, sql: string): Database.Statement {
  let byText = STATEMENTS.get(db);
  if (!byText) STATEMENTS.set(db, (byText = new Map()));
  let s = byText.get(sql);
  if (!s) byText.set(sql, (s = db.prepare(sql)));
  return s;
}

export function openDatabase(file: string): DB {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const nativeBinding = process.env.DAGUERRE_SQLITE_BINDING || undefined;
  const db = new Database(file, nativeBinding ? { nativeBinding } : {});
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: DB): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`library database is version ${current}, newer than this app (${MIGRATIONS.length}); update Daguerre`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return MIGRATIONS.length;
}

export const nowIso = (): string => new Date().toISOString();

/** Another live process owns the library (or it cannot be written); nothing was done. */
export class LibraryLockError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly code: 'LIBRARY_IN_USE' | 'LIBRARY_READ_ONLY',
  ) {
    super(message);
  }
}

export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export interface LibraryLock {
  readonly owner: LockOwner;
  release(): void;
}

function readOwner(file: string): LockOwner | null {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    return typeof o.pid === 'number' ? o : null;
  } catch {
    return null;
  }
}

function alive(o: LockOwner): boolean {
  if (o.host !== os.hostname()) return true;
  try {
    process.kill(o.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The owner named in `library.lock`. The winner of a simultaneous start takes the SQLite lock a
 * moment before it writes that file, so a loser may find no file yet, or one left by a dead
 * process: it waits up to `ms` for a live owner's record before saying "another process".
 */
function waitForOwner(file: string, ms = 3000): LockOwner | null {
  const tick = new Int32Array(new SharedArrayBuffer(4));
  for (const end = Date.now() + ms; ; ) {
    const o = readOwner(file);
    if (o && alive(o)) return o;
    if (Date.now() >= end) return null;
    Atomics.wait(tick, 0, 0, 25);
  }
}

export function describeCommand(argv = process.argv): string {
  const args = argv.slice(2).filter((a) => !a.startsWith('-')).slice(0, 1);
  return ['daguerre', ...args].join(' ');
}

/**
 * One process owns a library folder at a time. The lock is an exclusive SQLite lock on
 * `library.lock.sqlite` (the kernel drops it when the owner dies, even by kill -9, so a stale lock
 * can never block); `library.lock` holds the owner's pid, host, start time and command for the
 * message. A lock file left by a dead process is simply taken over (its pid no longer holds the lock).
 */
export function acquireLibraryLock(dataDir: string, command = describeCommand()): LibraryLock {
  const infoFile = path.join(dataDir, 'library.lock');
  const readOnly = (e: unknown) =>
    new LibraryLockError(`library ${dataDir} cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message.split('\n')[0]}); use --library <other>`, 'LIBRARY_READ_ONLY');
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch (e) {
    throw readOnly(e);
  }
  const nativeBinding = process.env.DAGUERRE_SQLITE_BINDING || undefined;
  let lockDb: DB;
  try {
    lockDb = new Database(path.join(dataDir, 'library.lock.sqlite'), nativeBinding ? { nativeBinding } : {});
  } catch (e) {
    throw readOnly(e);
  }
  try {
    lockDb.pragma('busy_timeout = 0');
    lockDb.pragma('locking_mode = EXCLUSIVE');
    lockDb.exec(`BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (id INTEGER PRIMARY KEY, at TEXT); INSERT OR REPLACE INTO lock VALUES (1, '${nowIso()}'); COMMIT;`);
  } catch (e) {
    lockDb.close();
    const code = (e as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      const o = waitForOwner(infoFile);
      const who = o ? `process ${o.pid}${o.host !== os.hostname() ? ` on ${o.host}` : ''} (${o.command}, since ${o.startedAt})` : 'another process';
      throw new LibraryLockError(`library ${dataDir} is in use by ${who}; wait for it or use --library <other>`, 'LIBRARY_IN_USE');
    }
    throw readOnly(e);
  }
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), startedAt: nowIso(), command };
  try {
    fs.writeFileSync(infoFile, JSON.stringify(owner) + '\n');
  } catch (e) {
    lockDb.close();
    throw readOnly(e);
  }
  let released = false;
  return {
    owner,
    release() {
      if (released) return;
      released = true;
      const o = readOwner(infoFile);
      if (o && o.pid === owner.pid && o.startedAt === owner.startedAt) fs.rmSync(infoFile, { force: true });
      lockDb.close();
    },
  };
}
