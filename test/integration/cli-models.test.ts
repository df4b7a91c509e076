/** `daguerre models`: packages from their cards (no sessions), with the int8 state each has. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const run = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/daguerre.mjs'), 'models', ...args], { encoding: 'utf8', timeout: 60_000, cwd: ROOT });

describe('daguerre models', () => {
  it('lists the shipped packages with task, scales, training and int8 (auto where its gate passed, none without a file)', () => {
    const r = run(['--json']);
    expect(r.status, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as { id: string; ok: boolean; task: string; int8: string | null }[];
    const by = new Map(list.map((m) => [m.id, m]));
    expect(by.get('natural-x4')).toMatchObject({ ok: true, task: 'natural', int8: 'auto' });
    expect(by.get('face-x8')).toMatchObject({ ok: true, task: 'face', int8: 'auto' });
    expect(by.get('natural-real-x4')).toMatchObject({ ok: true, task: 'natural', int8: null });
    const text = run([]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^natural-x4 {2}natural x4 {2}gpu-trained {2}int8 \(auto\)/m);
    expect(text.stdout).toMatch(/^natural-real-x4 {2}natural x4 {2}cpu-trained {2}\//m);
  });
});
