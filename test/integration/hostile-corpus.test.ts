/**
 * Issue 14's hostile-input corpus (test/hostile/corpus.ts) through the real library import (~300
 * files) and the real CLI on a folder (~60 files, bicubic so it stays fast): no crash, every bad file
 * one line naming it, good files done, exit code 1 when any failed, and no corpus file changed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/main/core';
import { memorySettingsStore } from '../../src/main/settings';
import { tmpDir } from '../helpers/shared-data';
import { hostileCorpus, writeCorpus, type HostileFile } from '../hostile/corpus';

const ROOT = path.resolve(__dirname, '../..');
const sha = (p: string) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');
const snapshot = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, sha(path.join(dir, f))]));

let files: HostileFile[];
let base: string;
beforeAll(async () => {
  files = await hostileCorpus(14, 80);
  base = tmpDir('daguerre-hostile-');
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('hostile corpus: library import', () => {
  let core: Core;
  afterAll(async () => core?.close());

  it('every file is imported, a duplicate, or refused with one line naming it; none changed', async () => {
    expect(files.length).toBeGreaterThanOrEqual(280);
    const dir = path.join(base, 'lib-in');
    const paths = writeCorpus(dir, files);
    const before = snapshot(dir);
    core = await createCore({ dataDir: path.join(base, 'lib'), modelDirs: [path.join(ROOT, 'test/fixtures/models')], settings: memorySettingsStore({ threads: 1 }), grantedRoots: [dir], startQueue: false });
    const r = await core.dispatch('library.import', { paths });
    expect(r.ok).toBe(true);
    const rep = (r as { value: { imported: { path: string }[]; duplicates: { path: string }[]; failed: { path: string; error: string }[] } }).value;
    const verdict = new Map<string, string>();
    for (const p of rep.imported) verdict.set(path.basename(p.path), 'ok');
    for (const d of rep.duplicates) verdict.set(path.basename(d.path), 'ok');
    for (const f of rep.failed) {
      verdict.set(path.basename(f.path), 'bad');
      expect(f.error, f.path).not.toMatch(/[\n\r]/);
      expect(f.error).toContain(path.basename(f.path));
    }
    for (const f of files) {
      expect(verdict.has(f.name), `${f.name} (${f.why}) not accounted for`).toBe(true);
      if (f.expect !== 'any') expect(verdict.get(f.name), `${f.name}: ${f.why}`).toBe(f.expect);
    }
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('hostile corpus: CLI on a folder', () => {
  it('good files done, each bad file one line naming it, exit 1, inputs unchanged', () => {
    const keep = (f: HostileFile) => /\.(png|jpe?g|webp|tif|gif)$/.test(f.name);
    const good = files.filter((f) => f.expect === 'ok' && keep(f));
    const bad = files.filter((f) => f.expect === 'bad' && keep(f));
    const any = files.filter((f) => f.expect === 'any' && keep(f)).filter((_, i) => i % 8 === 0);
    const pick = [...good, ...bad.slice(0, 24), ...any];
    expect(pick.length).toBeGreaterThanOrEqual(55);
    const dir = path.join(base, 'cli-in');
    const out = path.join(base, 'cli-out');
    writeCorpus(dir, pick);
    const before = snapshot(dir);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/daguerre.mjs'), 'restore', dir, '-o', out, '--scale', '2', '--method', 'bicubic'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
    const lines = `${r.stdout}\n${r.stderr}`.split('\n');
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
    for (const f of good) expect(lines.some((l) => l.includes(f.name) && /done/.test(l)), `${f.name} done`).toBe(true);
    for (const f of pick) {
      if (f.expect === 'ok') continue;
      const mine = lines.filter((l) => l.includes(`/${f.name}`));
      if (f.expect === 'bad') expect(mine.length === 1 && mine[0].startsWith('error: '), `${f.name}: one error line, got ${JSON.stringify(mine)}`).toBe(true);
      else expect(mine.length, `${f.name}: one line`).toBe(1);
    }
    expect(lines.some((l) => /\bat\s+\S+:\d+:\d+/.test(l)), 'no stack trace').toBe(false);
    expect(snapshot(dir)).toEqual(before);
    // Outputs land in out/<folder name>/, one per input done (same-stem inputs keep their extension in the name).
    const outs = fs.readdirSync(path.join(out, path.basename(dir)));
    for (const o of outs) expect(fs.statSync(path.join(out, path.basename(dir), o)).size).toBeGreaterThan(0);
    const summary = lines.find((l) => /\d+ done, \d+ skipped, \d+ failed/.test(l)) ?? '';
    const [, done, skipped, failed] = (/(\d+) done, (\d+) skipped, (\d+) failed/.exec(summary) ?? []).map(Number);
    expect(done).toBeGreaterThanOrEqual(good.length);
    expect(outs.length).toBe(done);
    expect(skipped).toBe(0);
    expect(failed).toBeGreaterThanOrEqual(pick.filter((f) => f.expect === 'bad').length);
    expect(done + failed).toBe(pick.length);
  });
});
