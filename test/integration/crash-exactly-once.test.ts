/**
 * Issue 14.1: `daguerre restore ... --library L`, kill -9 at several moments, run the same command
 * again: exactly one result per photo, one output per input, no temp files left.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { tmpDir } from '../helpers/shared-data';

const root = path.resolve(__dirname, '../..');
const bin = path.join(root, 'bin/daguerre.mjs');
const env = { ...process.env, DAGUERRE_MODELS: path.join(root, 'test/fixtures/models') };
const N = 6;
let photos: string;

beforeAll(async () => {
  photos = tmpDir('daguerre-crash-in-');
  for (let i = 0; i < N; i++) {
    await sharp({ create: { width: 40, height: 32, channels: 3, background: { r: 30 * i, g: 200 - 20 * i, b: 90 } } }).png().toFile(path.join(photos, `p${i}.png`));
  }
});

const args = (lib: string, out: string) => [bin, 'restore', photos, '--library', lib, '-o', out, '-m', 'tiny-x4', '-s', '4', '--threads', '1'];

/** True once the library holds a job in state 'running' (the first photo is under way). */
function someJobRunning(lib: string): boolean {
  try {
    const db = new Database(path.join(lib, 'library.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return !!db.prepare(`SELECT 1 FROM jobs WHERE state = 'running'`).get();
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

/** Runs the CLI and SIGKILLs it once `when(stderr, lib)` holds (polled, and on each stderr chunk) or after `ms`. */
function runAndKill(lib: string, out: string, when: (err: string, lib: string) => boolean, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args(lib, out), { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const kill = () => p.kill('SIGKILL');
    const t = setTimeout(kill, ms);
    const poll = setInterval(() => when(err, lib) && kill(), 25);
    p.stderr.on('data', (d) => {
      err += d;
      if (when(err, lib)) kill();
    });
    p.on('exit', () => {
      clearTimeout(t);
      clearInterval(poll);
      resolve(err);
    });
  });
}

function listFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : [];
}

const doneLines = (s: string) => (s.match(/^done: /gm) ?? []).length;

describe('kill -9, then the same command again', () => {
  const moments: [string, (err: string, lib: string) => boolean, number][] = [
    ['while the first photo runs', (_e, lib) => someJobRunning(lib), 60_000],
    ['after the first done line', (e) => doneLines(e) >= 1, 60_000],
    ['mid-way', (e) => doneLines(e) >= N / 2, 60_000],
  ];
  for (const [name, when, ms] of moments) {
    it(`runs each photo exactly once (${name})`, async () => {
      const lib = tmpDir('daguerre-crash-lib-');
      const out = tmpDir('daguerre-crash-out-');
      await runAndKill(lib, out, when, ms);
      const r = spawnSync(process.execPath, args(lib, out), { env, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      const db = new Database(path.join(lib, 'library.sqlite'), { readonly: true });
      const perPhoto = db.prepare(`SELECT p.name AS name, COUNT(r.id) AS n FROM photos p LEFT JOIN results r ON r.photo_id = p.id GROUP BY p.id ORDER BY p.name`).all() as { name: string; n: number }[];
      const open = (db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued','running')`).get() as { n: number }).n;
      db.close();
      expect(perPhoto).toEqual(Array.from({ length: N }, (_, i) => ({ name: `p${i}.png`, n: 1 })));
      expect(open).toBe(0);
      const files = listFiles(out);
      expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(files.sort()).toEqual(Array.from({ length: N }, (_, i) => path.join(path.basename(photos), `p${i}_x4.png`)).sort());
    }, 180_000);
  }
});
