/** Model package listing (cards only) and opening (real onnxruntime sessions on the tiny fixture models), src/engine/catalogue.ts. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPackages, session } from '../../src/engine/catalogue';

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
    const list = listPackages([root, join(root, 'does-not-exist')]);
    const byId = Object.fromEntries(list.map((m) => [m.id, m]));
    expect(Object.keys(byId).sort()).toEqual(['bad-json', 'bad-schema', 'corrupt-onnx', 'good-x4', 'id-mismatch', 'no-file', 'policy-io', 'wrong-io']);
    expect(byId['good-x4'].ok).toBe(true);
    expect(byId['good-x4'].card?.task).toBe('natural');
    // The listing reads cards only: ONNX graphs are checked when a session opens (next test).
    for (const id of ['wrong-io', 'policy-io', 'corrupt-onnx']) expect(byId[id].ok).toBe(true);
    expect(byId['no-file'].error).toMatch(/model "no-file": denoiser file missing.onnx is missing/);
    expect(byId['bad-schema'].error).toMatch(/model "bad-schema": card.json does not match the model card schema: task/);
    expect(byId['id-mismatch'].error).toMatch(/card id "someone-else" differs from its folder name/);
    expect(byId['bad-json'].error).toMatch(/not valid JSON/);
    for (const m of list) if (!m.ok) expect(m.card).toBeUndefined();
  });

  it('opening a package checks its ONNX files against the card, with clear errors', async () => {
    await expect(session(join(root, 'wrong-io'), { threads: 1 })).rejects.toThrow('model "wrong-io": denoiser.onnx has inputs [x0_hat, t_feat, h], card expects [x_t, cond, gamma]');
    await expect(session(join(root, 'policy-io'), { threads: 1 })).rejects.toThrow('model "policy-io": policy.onnx has outputs [p_denoise, value, h_out], card expects [p, v, h2]');
    await expect(session(join(root, 'corrupt-onnx'), { threads: 1 })).rejects.toThrow(/model "corrupt-onnx": cannot open denoiser.onnx/);
    await expect(session(join(root, 'no-file'), { threads: 1 })).rejects.toThrow(/denoiser file missing.onnx is missing/);
  });

  it('the fixture packages are valid; a duplicate id in a later folder is reported', async () => {
    const list = listPackages([FIX, FIX]);
    expect(list.filter((m) => m.ok).map((m) => m.id)).toEqual(['tiny-face-x8', 'tiny-x4']);
    expect(list.filter((m) => !m.ok).every((m) => /duplicate id/.test(m.error!))).toBe(true);
  });

  it('one session per package, created once and reused; the policy is opened when present', async () => {
    const a = await session(join(FIX, 'tiny-x4'), { threads: 1 });
    const b = await session(join(FIX, 'tiny-x4'), { threads: 1 });
    expect(a).toBe(b);
    expect(a.denoiser).toBe(b.denoiser);
    expect(a.policy).not.toBeNull();
    expect(a.providers).toEqual(['cpu']);
    const face = await session(join(FIX, 'tiny-face-x8'), { threads: 1 });
    expect(face.policy).toBeNull();
    // A failed open is not cached: the same error again.
    await expect(session(join(root, 'wrong-io'), { threads: 1 })).rejects.toThrow(/denoiser.onnx has inputs/);
  });
});
