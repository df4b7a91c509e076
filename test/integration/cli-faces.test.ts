/**
 * Issue 18 item 5: `daguerre restore --json` lists per file the faces found and restored (methods auto and
 * portrait), as the library's result records them (info.portrait, info.autoFaces). Fixture models only
 * (DAGUERRE_MODELS first: tiny-x4 is the natural package, tiny-face-x8 the face one); the face is a
 * faces/val face from ../shared at 20 px on a plain ground, which the detector finds and the face model restores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { hasShared, SHARED_DATA, sharedSkipReason } from '../helpers/shared-data';
import { runCli } from '../helpers/cli';

const ROOT = path.resolve(__dirname, '../..');
let dir: string;

const cli = (args: string[]) => runCli(args, { DAGUERRE_HOME: path.join(dir, 'home'), DAGUERRE_MODELS: path.join(ROOT, 'test/fixtures/models') });

interface FileJson {
  input: string;
  status: string;
  method?: string;
  faces?: { found: number; restored: number; faceModel: string | null; background: string | null; list: { box: { x: number; y: number; w: number; h: number }; restored: boolean; reason?: string; fidelity?: number; framePx?: number }[] };
}

describe.skipIf(!hasShared)('restore --json: faces per file', () => {
  if (!hasShared) it.skip(sharedSkipReason, () => {});

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-faces-'));
    const face = await sharp(path.join(SHARED_DATA, 'faces/val/00003.png')).resize(20, 20).removeAlpha().png().toBuffer();
    await sharp({ create: { width: 112, height: 112, channels: 3, background: '#807060' } }).composite([{ input: face, left: 46, top: 46 }]).png().toFile(path.join(dir, 'face.png'));
    const px = Buffer.alloc(16 * 16 * 3);
    for (let k = 0; k < px.length; k++) px[k] = (k * 13) & 255;
    await sharp(px, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(path.join(dir, 'plain.png'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('auto: the face found and restored (box, knob, frame), and none on a photo without faces', async () => {
    const r = await cli(['restore', path.join(dir, 'face.png'), path.join(dir, 'plain.png'), '-o', path.join(dir, 'auto'), '--scale', '2', '--method', 'auto', '--sampler', 'ddim:1', '--threads', '1', '--provider', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const files = JSON.parse(r.stdout).files as FileJson[];
    const face = files.find((f) => f.input.endsWith('face.png'))!;
    const plain = files.find((f) => f.input.endsWith('plain.png'))!;
    expect(face.status).toBe('done');
    expect(face.method).toBe('portrait');
    expect(face.faces).toMatchObject({ found: 1, restored: 1, faceModel: 'tiny-face-x8', background: 'tiny-x4' });
    const [f0] = face.faces!.list;
    expect(f0).toMatchObject({ restored: true, fidelity: 0.5 });
    expect(f0.reason).toBeUndefined();
    expect(f0.framePx).toBeGreaterThan(8);
    expect(f0.framePx).toBeLessThanOrEqual(24);
    // The box lies on the pasted face (input pixels 46..66).
    expect(f0.box.x + f0.box.w / 2).toBeGreaterThan(46);
    expect(f0.box.x + f0.box.w / 2).toBeLessThan(66);
    expect(f0.box.y + f0.box.h / 2).toBeGreaterThan(46);
    expect(f0.box.y + f0.box.h / 2).toBeLessThan(66);
    expect(plain.status).toBe('done');
    expect(plain.method).toBe('tiny-x4');
    expect(plain.faces).toEqual({ found: 0, restored: 0, faceModel: null, background: null, list: [] });
  }, 180_000);

  it('portrait: the face and the knob it was restored at; no faces key when none were looked for', async () => {
    const p = await cli(['restore', path.join(dir, 'face.png'), '-o', path.join(dir, 'portrait'), '--scale', '2', '--method', 'portrait', '--sampler', 'ddim:1', '--fidelity', '0', '--threads', '1', '--provider', 'cpu', '--json']);
    expect(p.code, p.stderr).toBe(0);
    const [pf] = JSON.parse(p.stdout).files as FileJson[];
    expect(pf.method).toBe('portrait');
    expect(pf.faces).toMatchObject({ found: 1, restored: 1, faceModel: 'tiny-face-x8', background: 'tiny-x4' });
    expect(pf.faces!.list[0]).toMatchObject({ restored: true, fidelity: 0 });

    const n = await cli(['restore', path.join(dir, 'plain.png'), '-o', path.join(dir, 'nofaces'), '--scale', '2', '--method', 'auto', '--no-faces', '--sampler', 'ddim:1', '--threads', '1', '--provider', 'cpu', '--json']);
    expect(n.code, n.stderr).toBe(0);
    const [nf] = JSON.parse(n.stdout).files as FileJson[];
    expect(nf.method).toBe('tiny-x4');
    expect(nf).not.toHaveProperty('faces');
  }, 180_000);
});
