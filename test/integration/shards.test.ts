/**
 * Issue 20: a folder restored by 3 shard processes at once through the real CLI (bin/daguerre.mjs), one
 * killed with SIGKILL after its first output and run again, then `library merge`: exactly one photo and
 * one result per file, outputs byte-identical to a one-process run, and a second merge changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { MIGRATIONS } from '../../src/main/db';
import { keepShard, shardKey } from '../../src/cli/lib/shard';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/daguerre.mjs');
const N = 30;

function cli(args: string[], env: NodeJS.ProcessEnv = {}, onStart?: (p: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, DAGUERRE_HOME: path.join(dir, 'home'), ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onStart?.(p);
  });
}

let dir: string;
const listOut = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d, { recursive: true }) as string[] : []).filter((f) => f.endsWith('.png') && !f.startsWith('.')).sort();
const count = (lib: string, table: string) => {
  const db = new Database(path.join(lib, 'library.sqlite'), { readonly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('restore --shard + library merge', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shards-'));
    for (let i = 0; i < N; i++) {
      const px = Buffer.alloc(16 * 16 * 3);
      for (let k = 0; k < px.length; k++) px[k] = (k * 7 + i * 31) & 255;
      const sub = path.join(dir, 'in', i % 2 ? 'a' : 'b');
      fs.mkdirSync(sub, { recursive: true });
      await sharp(px, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(path.join(sub, `p${i}.png`));
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('3 shards at once (one SIGKILLed and re-run) merge to exactly 30 results, byte-identical to one process', async () => {
    const input = path.join(dir, 'in');
    const out = path.join(dir, 'out');
    const all = listOut(input).map((f) => path.join(input, f));
    const shard0 = new Set(keepShard(all, [input], { index: 0, count: 3, source: 't' }).map((f) => shardKey(f, [input])));
    expect(shard0.size).toBeGreaterThan(3);
    const common = ['restore', input, '-o', out, '--method', 'bicubic', '--seed', '3', '--json'];
    const killed = cli([...common, '--shard', '0/3'], {}, (p) => {
      const t = setInterval(() => {
        // kill shard 0 once it has written its third output (mid-way through its ~10 files): at most two jobs are
        // in flight (the queue's pipeline), so the third was started only after the first was done and recorded;
        // an output written but not yet recorded is redone on re-run.
        const mine = listOut(out).filter((f) => shard0.has(f.replace(/_x4\.png$/, '.png'))).length;
        if (mine >= 3) {
          clearInterval(t);
          p.kill('SIGKILL');
        }
      }, 20);
      p.on('close', () => clearInterval(t));
    });
    const others = [cli([...common, '--shard', '1/3']), cli([...common], { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '3' })];
    const [k, s1, s2] = await Promise.all([killed, ...others]);
    expect(k.signal).toBe('SIGKILL');
    expect(s1.code, s1.stderr).toBe(0);
    expect(s2.code, s2.stderr).toBe(0);
    const j2 = JSON.parse(s2.stdout);
    expect(j2.shard).toMatchObject({ index: 2, count: 3, source: 'SLURM_ARRAY_TASK_ID' });
    expect(listOut(out).length).toBeLessThan(N);
    const again = await cli([...common, '--shard', '0/3']);
    expect(again.code, again.stderr).toBe(0);
    const j0 = JSON.parse(again.stdout);
    const j1 = JSON.parse(s1.stdout);
    expect(j0.skipped).toBeGreaterThanOrEqual(1);
    expect(j0.skipped).toBeLessThan(shard0.size); // what the killed run finished is not redone
    expect(j0.done + j0.skipped).toBe(shard0.size);
    expect(j0.done + j0.skipped + j1.done + j2.done).toBe(N);
    expect(listOut(out).length).toBe(N);

    // one process, same seed
    const single = path.join(dir, 'single');
    const one = await cli(['restore', input, '-o', single, '--method', 'bicubic', '--seed', '3', '--library', path.join(dir, 'single-lib'), '--json']);
    expect(one.code, one.stderr).toBe(0);
    expect(listOut(single)).toEqual(listOut(out));
    for (const f of listOut(out)) expect(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(single, f))), f).toBe(true);

    const shards = [0, 1, 2].map((i) => path.join(out, '.daguerre-shards', `shard-${i}-of-3`));
    const merged = path.join(dir, 'merged');
    const m1 = await cli(['library', 'merge', ...shards, '--into', merged, '--json']);
    expect(m1.code, m1.stderr).toBe(0);
    const r1 = JSON.parse(m1.stdout);
    expect([r1.photos, r1.results]).toEqual([N, N]);
    expect(fs.readdirSync(path.join(merged, 'thumbs')).filter((f) => f.endsWith('.webp')).length).toBe(N);
    const db = new Database(path.join(merged, 'library.sqlite'), { readonly: true });
    const outs = (db.prepare(`SELECT output_path FROM results ORDER BY output_path`).all() as { output_path: string }[]).map((r) => path.relative(out, r.output_path));
    db.close();
    expect(outs).toEqual(listOut(out));
    const m2 = await cli(['library', 'merge', ...shards, '--into', merged, '--json']);
    const r2 = JSON.parse(m2.stdout);
    expect([r2.photosAdded, r2.resultsAdded, r2.photos, r2.results]).toEqual([0, 0, N, N]);
    expect([count(merged, 'photos'), count(merged, 'results')]).toEqual([N, N]);
  }, 240_000);

  it('refuses a folder that is not a library and a library of a newer schema, in one line', async () => {
    const bad = await cli(['library', 'merge', path.join(dir, 'in'), '--into', path.join(dir, 'm2')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toMatch(/^daguerre: .*in: not a Daguerre library \(no library\.sqlite\)$/);
    const newer = path.join(dir, 'newer');
    fs.mkdirSync(newer);
    const db = new Database(path.join(newer, 'library.sqlite'));
    db.exec('CREATE TABLE photos (id INTEGER); CREATE TABLE results (id INTEGER)');
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    const r = await cli(['library', 'merge', newer, '--into', path.join(dir, 'm2')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`daguerre: ${newer}: library schema version ${MIGRATIONS.length + 1} is newer than this Daguerre (${MIGRATIONS.length}); update Daguerre to merge it`);
    expect(fs.existsSync(path.join(dir, 'm2', 'library.sqlite'))).toBe(false);
  }, 60_000);
});
