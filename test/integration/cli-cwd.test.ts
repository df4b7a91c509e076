/**
 * The CLI works from any working directory: the engine host is forked with tsx by absolute URL (a bare
 * `--import tsx` was resolved from the cwd, so outside the checkout every restore failed with
 * "engine stopped unexpectedly").
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { tmpDir } from '../helpers/shared-data';

const ROOT = path.resolve(__dirname, '../..');

describe('daguerre restore from another folder', () => {
  it('restores with the engine host when the cwd is outside the checkout', async () => {
    const dir = tmpDir('daguerre-cwd-');
    const input = path.join(dir, 'in.png');
    await sharp({ create: { width: 12, height: 8, channels: 3, background: { r: 90, g: 40, b: 200 } } }).png().toFile(input);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/daguerre.mjs'), 'restore', input, '-o', 'out', '--scale', '2', '--method', 'bicubic', '--json'], {
      cwd: dir,
      env: { ...process.env, DAGUERRE_HOME: path.join(dir, 'home') },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.done).toBe(1);
    expect(fs.existsSync(path.join(dir, 'out', 'in_x2.png'))).toBe(true);
  }, 130_000);
});
