/**
 * Issue 14 items 3, 4 and 7: distinct inputs get distinct outputs (x.jpg + x.png in one folder), the
 * folder walk survives symlink loops and never leaves the folder through a link, a FIFO argument is
 * refused with one line, and control characters in a file name never reach the terminal raw.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { expandInputs } from '../../src/main/library';
import { planOutputs } from '../../src/cli/commands/restore';
import { printable } from '../../src/cli/lib/terminal';
import { tmpDir } from '../helpers/shared-data';
import { pngHeader } from '../hostile/corpus';

const ROOT = path.resolve(__dirname, '../..');
const png = (file: string, r = 120) => sharp({ create: { width: 8, height: 6, channels: 3, background: { r, g: 60, b: 30 } } }).png().toFile(file);
const cli = (args: string[], cwd: string, home: string) =>
  spawnSync(process.execPath, [path.join(ROOT, 'bin/daguerre.mjs'), 'restore', ...args, '--scale', '2', '--method', 'bicubic'], {
    cwd,
    env: { ...process.env, DAGUERRE_HOME: home },
    encoding: 'utf8',
    timeout: 120_000,
  });

describe('outputs: one per input', () => {
  it('x.jpg, x.png and x.webp in one folder plan three distinct outputs; a lone stem keeps the plain name', () => {
    const root = path.join(tmpDir('daguerre-plan-'), 'G');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    const files = ['x.jpg', 'x.png', 'x.webp', 'y.png', 'sub/X.PNG', 'sub/x.png'].map((f) => path.join(root, f));
    const plan = planOutputs([root], files, '/out', 2, 'png');
    const outs = files.map((f) => plan.get(f)!);
    expect(new Set(outs.map((o) => o.toLowerCase())).size).toBe(files.length);
    expect(plan.get(files[0])).toBe('/out/G/x_jpg_x2.png');
    expect(plan.get(files[1])).toBe('/out/G/x_png_x2.png');
    expect(plan.get(files[3])).toBe('/out/G/y_x2.png');
    expect(plan.get(files[4])).toBe('/out/G/sub/X_png_x2.png');
    expect(plan.get(files[5])).toBe('/out/G/sub/x_png_2_x2.png');
  });

  it('the CLI restores every same-stem file to its own output', async () => {
    const dir = tmpDir('daguerre-stem-');
    const g = path.join(dir, 'G');
    fs.mkdirSync(g);
    await png(path.join(g, 'x.png'), 10);
    await sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 200, g: 0, b: 0 } } }).jpeg().toFile(path.join(g, 'x.jpg'));
    await sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 0, g: 200, b: 0 } } }).webp().toFile(path.join(g, 'x.webp'));
    const r = cli([g, '-o', 'out', '--json'], dir, path.join(dir, 'home'));
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.done).toBe(3);
    expect(fs.readdirSync(path.join(dir, 'out', 'G')).sort()).toEqual(['x_jpg_x2.png', 'x_png_x2.png', 'x_webp_x2.png']);
  }, 130_000);
});

describe('folder walk', () => {
  it('symlink loops finish at once and a link never pulls in a file from outside the folder', async () => {
    const dir = tmpDir('daguerre-walk-');
    const g = path.join(dir, 'G');
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(path.join(g, 'sub'), { recursive: true });
    fs.mkdirSync(outside);
    await png(path.join(g, 'a.png'));
    await png(path.join(g, 'sub', 'b.png'));
    await png(path.join(outside, 'canary.png'));
    fs.symlinkSync('.', path.join(g, 'self'));
    fs.symlinkSync('..', path.join(g, 'sub', 'up'));
    fs.symlinkSync(g, path.join(g, 'sub', 'loop'));
    fs.symlinkSync(outside, path.join(g, 'link_out'));
    fs.symlinkSync(path.join(outside, 'canary.png'), path.join(g, 'canary-link.png'));
    fs.symlinkSync(path.join(g, 'a.png'), path.join(g, 'inner-link.png'));
    const t0 = Date.now();
    const { files, failed } = await expandInputs([g]);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(failed).toEqual([]);
    // inner-link.png points at a.png: the same file, listed once.
    expect(files.map((f) => path.relative(g, f)).sort()).toEqual(['a.png', path.join('sub', 'b.png')]);
    expect(files.some((f) => f.includes('canary'))).toBe(false);
  });

  it('a FIFO argument is refused with one line naming it (exit 1), the other file still done', async () => {
    const dir = tmpDir('daguerre-fifo-');
    const fifo = path.join(dir, 'pipe.png');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return expect.fail('mkfifo is not available');
    }
    await png(path.join(dir, 'good.png'));
    const r = cli([fifo, path.join(dir, 'good.png'), '-o', 'out'], dir, path.join(dir, 'home'));
    expect(r.status).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toEqual([`error: ${fifo}: not a regular file or folder (a pipe, socket or device cannot be restored)`]);
    expect(fs.existsSync(path.join(dir, 'out', 'good_x2.png'))).toBe(true);
  }, 130_000);
});

describe('terminal output', () => {
  it('printable shows control characters, escapes and bidi controls as visible escapes', () => {
    expect(printable('a\nb\rc\td')).toBe('a\\nb\\rc\\td');
    expect(printable('x\u001b[31mred')).toBe('x\\x1b[31mred');
    expect(printable('evil\u202egnp.exe')).toBe('evil\\u202egnp.exe');
    expect(printable('Größe 東京 ok.png')).toBe('Größe 東京 ok.png');
  });

  it('a corrupt file whose name holds a newline and an escape gets one error line, escaped', async () => {
    const dir = tmpDir('daguerre-ctl-');
    const bad = path.join(dir, 'bad\nname\u001b[2J.png');
    fs.writeFileSync(bad, 'not an image');
    const r = cli([bad, '-o', 'out'], dir, path.join(dir, 'home'));
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain('\u001b');
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors.length).toBe(1);
    expect(errors[0]).toContain('bad\\nname\\x1b[2J.png');
  }, 130_000);
});

describe('size limits', () => {
  it('the CLI refuses an enlargement above the 300 MP output limit from the header, before import decodes it', () => {
    const dir = tmpDir('daguerre-bomb-');
    // 9000×9000 = 81 MP in, ×2 = 324 MP out: within the input limit, above the output one.
    const bomb = path.join(dir, 'bomb.png');
    fs.writeFileSync(bomb, pngHeader(9000, 9000));
    const t0 = Date.now();
    const r = cli([bomb, '-o', 'out', '--json'], dir, path.join(dir, 'home'));
    expect(r.status).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.files[0].error).toBe(`${bomb}: output would be 18000×18000 (324 MP), above the 300 MP limit`);
    // Never imported: the library has no thumbnail of it.
    const thumbs = path.join(dir, 'home', 'thumbs');
    expect(fs.existsSync(thumbs) ? fs.readdirSync(thumbs) : []).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(60_000);
  }, 130_000);
});

describe('stale temp files', () => {
  it('a run sweeps temps a killed run left (our pattern, dead writer) from the output folder and the library, nothing else', async () => {
    const dir = tmpDir('daguerre-sweep-');
    const home = path.join(dir, 'home');
    await png(path.join(dir, 'a.png'));
    const out = path.join(dir, 'out');
    fs.mkdirSync(path.join(home, 'results'), { recursive: true });
    fs.mkdirSync(out);
    // pid 2^22+1 is above Linux's pid_max default range: never a live process here.
    const stale = ['.dg-4194305-abcdef.tmp'];
    for (const d of [out, path.join(home, 'results')]) {
      for (const f of stale) fs.writeFileSync(path.join(d, f), 'half-written');
      fs.writeFileSync(path.join(d, '.someone-else.tmp'), 'not ours');
    }
    const r = cli([path.join(dir, 'a.png'), '-o', out], dir, home);
    expect(r.status, r.stderr).toBe(0);
    for (const d of [out, path.join(home, 'results')]) {
      expect(fs.existsSync(path.join(d, stale[0]))).toBe(false);
      expect(fs.existsSync(path.join(d, '.someone-else.tmp'))).toBe(true);
    }
  }, 130_000);
});
