/**
 * Issue 19 item 2: the CLI's denoiser precision. `restore --precision` (default auto) reaches the engine
 * through the queue's settings and the decision — setting, precision, reason — is in the --json summary and
 * each file's record; `bench --precision` (default fp32, as the published tables) records it in its JSON and
 * names an int8 run in its table; an unknown precision is exit 2 with one line. The real models/natural-x4
 * (it ships an int8 denoiser that passed its gate) on a 16² input: one 64² tile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { requirePrereq } from '../prereq';
import { runCli } from '../helpers/cli';

const ROOT = path.resolve(__dirname, '../..');
const MODELS = path.join(ROOT, 'models');
const HAS_INT8 = requirePrereq('models/natural-x4 with its int8 denoiser', fs.existsSync(path.join(MODELS, 'natural-x4/denoiser-int8.onnx')), 'models/natural-x4/denoiser-int8.onnx not found');
let dir: string;

const cli = (args: string[]) => runCli(args, { DAGUERRE_HOME: path.join(dir, 'home'), DAGUERRE_MODELS: MODELS });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-precision-'));
  const px = Buffer.alloc(64 * 64 * 3);
  for (let k = 0; k < px.length; k++) px[k] = Math.round(128 + 90 * Math.sin(k / 37) * Math.cos(k / 301));
  fs.mkdirSync(path.join(dir, 'hr'));
  await sharp(px, { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(path.join(dir, 'hr', 'a.png'));
  await sharp(px, { raw: { width: 64, height: 64, channels: 3 } }).resize(16, 16).png().toFile(path.join(dir, 'in.png'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const restore = (name: string, precision?: string) =>
  cli(['restore', path.join(dir, 'in.png'), '-o', path.join(dir, name), '--method', 'natural-x4', '--threads', '1', '--provider', 'cpu', ...(precision ? ['--precision', precision] : []), '--json']);

describe('--precision', () => {
  it('an unknown precision is exit 2 with one line naming the valid ones (restore and bench)', async () => {
    const r = await cli(['restore', path.join(dir, 'in.png'), '-o', path.join(dir, 'x'), '--precision', 'fp16']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('daguerre: unknown precision "fp16" (use one of auto, fp32, int8)');
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
    const b = await cli(['bench', '--set', path.join(dir, 'hr'), '--scale', '4', '--precision', 'fp16']);
    expect(b.code).toBe(2);
    expect(b.stderr.trim()).toBe('daguerre bench: unknown precision "fp16" (use one of auto, fp32, int8)');
  }, 60_000);

  it.skipIf(!HAS_INT8)('restore: auto (the default) runs int8 on the cpu, fp32 asked runs fp32; both in the summary and the file record', async () => {
    const auto = await restore('auto');
    expect(auto.code, auto.stderr).toBe(0);
    const a = JSON.parse(auto.stdout);
    expect(a.precision.setting).toBe('auto');
    expect(a.precision.choices).toHaveLength(1);
    expect(a.precision.choices[0]).toMatchObject({ setting: 'auto', precision: 'int8' });
    expect(a.files[0].precision).toMatchObject({ setting: 'auto', precision: 'int8' });
    const fp = await restore('fp32', 'fp32');
    expect(fp.code, fp.stderr).toBe(0);
    const f = JSON.parse(fp.stdout);
    expect(f.precision).toEqual({ setting: 'fp32', choices: [{ setting: 'fp32', precision: 'fp32', reason: 'fp32 asked' }] });
    expect(fs.readFileSync(a.files[0].output).equals(fs.readFileSync(f.files[0].output))).toBe(false);
  }, 120_000);

  it.skipIf(!HAS_INT8)('bench: fp32 by default; int8 recorded in its JSON and named in its table', async () => {
    const run = (name: string, precision?: string) =>
      cli(['bench', '--set', path.join(dir, 'hr'), '--scale', '4', '--model', 'natural-x4', '--models-dir', MODELS, '--methods', 'skipdiff:0.5', '--threads', '1', '--quiet', '--json', path.join(dir, `${name}.json`), ...(precision ? ['--precision', precision] : [])]);
    const q = await run('int8', 'int8');
    expect(q.code, q.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'int8.json'), 'utf8')).precision).toEqual({ setting: 'int8', choice: { setting: 'int8', precision: 'int8', reason: 'int8 asked' } });
    expect(q.stdout).toMatch(/model natural-x4 \(int8 denoiser\), seed 0/);
    const d = await run('default');
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'default.json'), 'utf8')).precision).toEqual({ setting: 'fp32', choice: { setting: 'fp32', precision: 'fp32', reason: 'fp32 asked' } });
    expect(d.stdout).toMatch(/model natural-x4, seed 0/);
  }, 120_000);
});
