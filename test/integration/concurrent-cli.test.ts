/**
 * Issue 14.6: two or three CLIs on one library at once: exactly one proceeds, the others fail fast
 * with one clear line (and a JSON error under --json) and exit 2; nothing is lost. A lock left by a
 * dead process is taken over; a second core in the same process is refused until the first closes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { tmpDir } from '../helpers/shared-data';
import { createCore } from '../../src/main/core';
import { memorySettingsStore } from '../../src/main/settings';

const root = path.resolve(__dirname, '../..');
const bin = path.join(root, 'bin/daguerre.mjs');
const env = { ...process.env, DAGUERRE_MODELS: path.join(root, 'test/fixtures/models') };
const N = 4;
let photos: string;

beforeAll(async () => {
  photos = tmpDir('daguerre-conc-in-');
  for (let i = 0; i < N; i++) await sharp({ create: { width: 40, height: 32, channels: 3, background: { r: 50 * i, g: 90, b: 200 - 40 * i } } }).png().toFile(path.join(photos, `c${i}.png`));
});

const args = (lib: string, out: string, json = false) => [bin, 'restore', photos, '--library', lib, '-o', out, '-m', 'tiny-x4', '-s', '4', '--threads', '1', ...(json ? ['--json'] : [])];

function run(a: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, a, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

function resultsPerPhoto(lib: string): number[] {
  const db = new Database(path.join(lib, 'library.sqlite'), { readonly: true });
  const rows = db.prepare(`SELECT COUNT(r.id) AS n FROM photos p LEFT JOIN results r ON r.photo_id = p.id GROUP BY p.id`).all() as { n: number }[];
  db.close();
  return rows.map((r) => r.n);
}

describe('several processes on one library', () => {
  for (const k of [2, 3]) {
    it(`${k} CLIs at once: one runs, the others exit 2 at once with a clear line`, async () => {
      const lib = tmpDir('daguerre-conc-lib-');
      const out = tmpDir('daguerre-conc-out-');
      const rs = await Promise.all(Array.from({ length: k }, (_, i) => run(args(lib, out, i === 1))));
      const ok = rs.filter((r) => r.code === 0);
      const refused = rs.filter((r) => r.code === 2);
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(k - 1);
      for (const r of refused) {
        expect(r.err.trim()).toMatch(new RegExp(`^daguerre: library ${lib.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by process \\d+ \\(daguerre restore, since \\d{4}-.*\\); wait for it or use --library <other>$`));
      }
      const jsonRefused = rs[1].code === 2 ? JSON.parse(rs[1].out) : null;
      if (jsonRefused) expect(jsonRefused.error.code).toBe('LIBRARY_IN_USE');
      expect(resultsPerPhoto(lib)).toEqual(Array(N).fill(1));
      expect(fs.readdirSync(path.join(out, path.basename(photos))).sort()).toEqual(Array.from({ length: N }, (_, i) => `c${i}_x4.png`));
    }, 120_000);
  }

  it('a lock left by a dead process is taken over', () => {
    const lib = tmpDir('daguerre-conc-stale-');
    const out = tmpDir('daguerre-conc-out-');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(path.join(lib, 'library.lock'), JSON.stringify({ pid: Number(dead.stdout), host: 'h', startedAt: '2020-01-01T00:00:00Z', command: 'daguerre restore' }));
    const r = spawnSync(process.execPath, args(lib, out), { env, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(resultsPerPhoto(lib)).toEqual(Array(N).fill(1));
    expect(fs.existsSync(path.join(lib, 'library.lock'))).toBe(false);
  }, 120_000);

  it('a loser that starts before the winner has written library.lock still names the winner', async () => {
    const lib = tmpDir('daguerre-conc-race-');
    // The "winner": takes the SQLite lock, then (like a process still starting) writes its record 400 ms later.
    const holder = spawn(process.execPath, ['-e', `
      const D = require('better-sqlite3'); const fs = require('fs'); const path = require('path');
      const db = new D(path.join(${JSON.stringify(lib)}, 'library.lock.sqlite'));
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (id INTEGER PRIMARY KEY, at TEXT); INSERT OR REPLACE INTO lock VALUES (1, 'x'); COMMIT;");
      process.stdout.write('locked\\n');
      setTimeout(() => fs.writeFileSync(path.join(${JSON.stringify(lib)}, 'library.lock'), JSON.stringify({ pid: process.pid, host: require('os').hostname(), startedAt: '2026-01-01T00:00:00Z', command: 'daguerre restore' })), 400);
      setTimeout(() => process.exit(0), 5000);`], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    try {
      const { acquireLibraryLock } = await import('../../src/main/db');
      expect(() => acquireLibraryLock(lib)).toThrow(new RegExp(`is in use by process ${holder.pid} \\(daguerre restore, since 2026-01-01`));
    } finally {
      holder.kill();
    }
  }, 30_000);

  it('the same process cannot open a library twice at once, and reopens it after close', async () => {
    const lib = tmpDir('daguerre-conc-same-');
    const a = await createCore({ dataDir: lib, settings: memorySettingsStore({}), startQueue: false });
    await expect(createCore({ dataDir: lib, settings: memorySettingsStore({}), startQueue: false })).rejects.toThrow(/is in use by process \d+/);
    await a.close();
    const b = await createCore({ dataDir: lib, settings: memorySettingsStore({}), startQueue: false });
    await b.close();
  });
});
