/**
 * bench/peers.ts (issue 15 item 5): its command-line checks. Bad arguments end with one line and
 * status 2 before anything is installed (no network; the scratch folder is never created).
 * Running the peers themselves needs the npm registry and minutes of CPU: see bench/README-peers.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'bench/peers.ts');

function peers(...args: string[]): { status: number | null; stderr: string; scratch: string } {
  const scratch = path.join(mkdtempSync(path.join(os.tmpdir(), 'peers-test-')), 'scratch');
  const r = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...args, '--scratch', scratch], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr, scratch };
}

describe('bench/peers.ts arguments', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peers-in-'));
  const withPng = mkdtempSync(path.join(os.tmpdir(), 'peers-png-'));
  writeFileSync(path.join(withPng, 'a.png'), 'not really a png');
  const out = path.join(os.tmpdir(), 'peers-out-unused');

  it.each([
    [['--peer', 'waifu', '--in', withPng, '--out', out], "--peer must be esrgan or realesrgan (got 'waifu')"],
    [['--peer', 'realesrgan', '--in', withPng, '--out', out, '--scale', '2'], 'realesrgan-x4plus is a x4 model only'],
    [['--peer', 'esrgan', '--in', withPng, '--out', out, '--scale', '5'], 'esrgan-thick has x2, x3, x4 and x8 models, not x5'],
    [['--peer', 'esrgan', '--in', path.join(dir, 'nope'), '--out', out], 'nope: not a folder'],
    [['--peer', 'esrgan', '--in', dir, '--out', out], ': no .png files'],
    [['--peer', 'esrgan', '--in', withPng, '--out', out, '--frobnicate'], "unknown argument '--frobnicate'"],
    [['--peer', 'esrgan', '--in', withPng], '--in and --out are required'],
  ])('%j → status 2, one reason', (args, reason) => {
    const r = peers(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(reason);
    expect(existsSync(r.scratch)).toBe(false);
  });
});
