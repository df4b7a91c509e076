/** Model package discovery and validation (real onnxruntime sessions on the tiny fixture models). */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverModels, loadModel } from '../../src/engine/diffusion/index';

const FIX = new URL('../fixtures/models/', import.meta.url).pathname;
let root: string;

function pkg(name: string, from: string, edit?: (card: Record<string, any>, dir: string) => void) {
  const dir = join(root, name);
  cpSync(join(FIX, from), dir, { recursive: true });
  const card = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8'));
  card.id = name;
  edit?.(card, dir);
  writeFileSync(join(dir, 'card.json'), JSON.stringify(card));
  return dir;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'daguerre-models-'));
  pkg('good-x4', 'tiny-x4');
  pkg('wrong-io', 'tiny-x4', (_c, dir) => cpSync(join(dir, 'policy.onnx'), join(dir, 'denoiser.onnx')));
  pkg('no-file', 'tiny-face-x8', (c) => (c.files.denoiser = 'missing.onnx'));
  pkg('bad-schema', 'tiny-face-x8', (c) => (c.task = 'landscape'));
  pkg('id-mismatch', 'tiny-face-x8', (c) => (c.id = 'someone-else'));
  pkg('corrupt-onnx', 'tiny-face-x8', (_c, dir) => writeFileSync(join(dir, 'denoiser.onnx'), 'not an onnx file'));
  pkg('policy-io', 'tiny-x4', (c) => (c.io.policy.outputs = ['p', 'v', 'h2']));
  mkdirSync(join(root, 'bad-json'));
  writeFileSync(join(root, 'bad-json', 'card.json'), '{ "id": ');
  mkdirSync(join(root, 'not-a-package'));
  symlinkSync(join(root, 'nowhere'), join(root, 'dangling-link'));
  writeFileSync(join(root, 'README.txt'), 'not a folder');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('model packages', () => {
  it('lists good and broken packages with clear errors, without throwing (stray files and dangling links ignored)', async () => {
    const list = await discoverModels([root, join(root, 'does-not-exist')], { threads: 1 });
    const byId = Object.fromEntries(list.map((m) => [m.id, m]));
    expect(Object.keys(byId).sort()).toEqual(['bad-json', 'bad-schema', 'corrupt-onnx', 'good-x4', 'id-mismatch', 'no-file', 'policy-io', 'wrong-io']);
    expect(byId['good-x4'].ok).toBe(true);
    expect(byId['good-x4'].card?.task).toBe('natural');
    expect(byId['wrong-io'].error).toBe('model "wrong-io": denoiser.onnx has inputs [x0_hat, t_feat, h], card expects [x_t, cond, gamma]');
    expect(byId['policy-io'].error).toBe('model "policy-io": policy.onnx has outputs [p_denoise, value, h_out], card expects [p, v, h2]');
    expect(byId['no-file'].error).toMatch(/model "no-file": denoiser file missing.onnx is missing/);
    expect(byId['bad-schema'].error).toMatch(/model "bad-schema": card.json does not match the model card schema: task/);
    expect(byId['id-mismatch'].error).toMatch(/card id "someone-else" differs from its folder name/);
    expect(byId['corrupt-onnx'].error).toMatch(/model "corrupt-onnx": cannot open denoiser.onnx/);
    expect(byId['bad-json'].error).toMatch(/not valid JSON/);
    for (const m of list) if (!m.ok) expect(m.card).toBeUndefined();
  });

  it('the fixture packages are valid; a duplicate id in a later folder is reported', async () => {
    const list = await discoverModels([FIX, FIX], { threads: 1 });
    expect(list.filter((m) => m.ok).map((m) => m.id)).toEqual(['tiny-face-x8', 'tiny-x4']);
    expect(list.filter((m) => !m.ok).every((m) => /duplicate id/.test(m.error!))).toBe(true);
  });

  it('one session per package, created once and reused; the policy is opened when present', async () => {
    const a = await loadModel(join(FIX, 'tiny-x4'), { threads: 1 });
    const b = await loadModel(join(FIX, 'tiny-x4'), { threads: 1 });
    expect(a).toBe(b);
    expect(a.denoiser).toBe(b.denoiser);
    expect(a.policy).not.toBeNull();
    expect(a.providers).toEqual(['cpu']);
    const face = await loadModel(join(FIX, 'tiny-face-x8'), { threads: 1 });
    expect(face.policy).toBeNull();
    await expect(loadModel(join(root, 'wrong-io'), { threads: 1 })).rejects.toThrow(/denoiser.onnx has inputs/);
  });
});
