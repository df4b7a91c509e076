/**
 * Issue 19 item 4: the CLI chooses the device. `restore --provider` reaches the engine (through the
 * queue's settings) and the decision — setting, provider, self-test, fallback reason — is in the --json
 * summary and each file's record; an unknown provider is exit 2 with one line. webgpu runs on SwiftShader
 * (software Vulkan, see gpu-webgpu.test.ts) where it is installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { softwareVulkanEnv } from '../../src/engine/providers';
import { runCli } from '../helpers/cli';

const ROOT = path.resolve(__dirname, '../..');
let dir: string;

const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) => runCli(args, { DAGUERRE_HOME: path.join(dir, 'home'), DAGUERRE_MODELS: path.join(ROOT, 'test/fixtures/models') }, env);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-provider-'));
  const px = Buffer.alloc(16 * 16 * 3);
  for (let k = 0; k < px.length; k++) px[k] = (k * 13) & 255;
  await sharp(px, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(path.join(dir, 'in.png'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const restore = (name: string, provider: string, env?: NodeJS.ProcessEnv) =>
  cli(['restore', path.join(dir, 'in.png'), '-o', path.join(dir, name), '--method', 'tiny-x4', '--sampler', 'ddim:1', '--threads', '1', '--provider', provider, '--json'], env);

describe('--provider', () => {
  it('an unknown provider is exit 2 with one line naming the valid ones (restore and bench)', async () => {
    const r = await cli(['restore', path.join(dir, 'in.png'), '-o', path.join(dir, 'x'), '--provider', 'gpux']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('daguerre: unknown execution provider "gpux" (use one of auto, cpu, webgpu, dml, coreml, cuda)');
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
    const b = await cli(['bench', '--set', dir, '--scale', '4', '--provider', 'gpux']);
    expect(b.code).toBe(2);
    expect(b.stderr.trim()).toBe('daguerre bench: unknown execution provider "gpux" (use one of auto, cpu, webgpu, dml, coreml, cuda)');
  }, 60_000);

  it('cpu: the summary and the file record carry the cpu decision', async () => {
    const r = await restore('cpu', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.provider.setting).toBe('cpu');
    expect(j.provider.choices).toHaveLength(1);
    expect(j.provider.choices[0]).toMatchObject({ setting: 'cpu', provider: 'cpu', selfTest: null });
    expect(j.files[0].providerChoice).toMatchObject({ setting: 'cpu', provider: 'cpu' });
  }, 90_000);

  const sw = softwareVulkanEnv();
  it.skipIf(!sw)('webgpu on SwiftShader: self-test passed and recorded; a webgpu without a driver falls back to cpu with the reason', async () => {
    const r = await restore('gpu', 'webgpu', sw!);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout).provider.choices[0];
    expect(c).toMatchObject({ setting: 'webgpu', provider: 'webgpu' });
    expect(c.reason).toMatch(/^webgpu: self-test passed/);
    expect(c.selfTest.maxAbsDiff).toBeLessThanOrEqual(1e-3);
    const f = await restore('nogpu', 'webgpu', { ...sw!, VK_ICD_FILENAMES: path.join(dir, 'no-such-icd.json') });
    expect(f.code, f.stderr).toBe(0);
    const fc = JSON.parse(f.stdout).provider.choices[0];
    expect(fc).toMatchObject({ setting: 'webgpu', provider: 'cpu' });
    expect(fc.reason).toMatch(/^webgpu unavailable, using cpu: /);
  }, 240_000);
});
