/**
 * Identity metric (src/engine/faces/identity.ts) on real faces of faces/val: a face and a slightly degraded
 * copy of itself (×2 down and back, as a restoration would be judged) are closer than two different people.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ImageU8 } from '../../src/engine/image';
import { faceDescriptor, identityBox, identityDistance, identityDistanceToTruth } from '../../src/engine/faces/identity';
import { SHARED_DATA, hasShared, sharedSkipReason } from '../helpers/shared-data';

async function load(file: string, shrink = 1): Promise<ImageU8> {
  let s = sharp(file).removeAlpha();
  if (shrink > 1) {
    const m = await sharp(file).metadata();
    s = sharp(await s.resize(Math.round(m.width! / shrink), Math.round(m.height! / shrink), { kernel: 'cubic' }).png().toBuffer()).resize(m.width!, m.height!, { kernel: 'cubic' });
  }
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
}

describe('identityDistance', () => {
  it('is the Euclidean distance and refuses mismatched lengths', () => {
    expect(identityDistance(new Float32Array([0, 3]), new Float32Array([4, 0]))).toBeCloseTo(5, 6);
    expect(() => identityDistance(new Float32Array(2), new Float32Array(3))).toThrow(/lengths differ/);
  });
});

describe.skipIf(!hasShared)('identity on faces/val', () => {
  if (!hasShared) it.skip(sharedSkipReason, () => {});
  it('same face (degraded copy) is closer than a different face', async () => {
    const dir = join(SHARED_DATA, 'faces/val');
    const files = readdirSync(dir).filter((f) => /\.(png|jpg)$/.test(f)).sort();
    const a = await load(join(dir, files[0]));
    const aBlur = await load(join(dir, files[0]), 2);
    const b = await load(join(dir, files[7]));
    const boxA = await identityBox(a);
    const boxB = await identityBox(b);
    expect(boxA, `no face found on ${files[0]}`).not.toBeNull();
    expect(boxB, `no face found on ${files[7]}`).not.toBeNull();
    const dA = await faceDescriptor(a, boxA!);
    expect(dA.length).toBe(128);
    const same = await identityDistanceToTruth(aBlur, a, boxA);
    const diff = identityDistance(dA, await faceDescriptor(b, boxB!));
    expect(same).not.toBeNull();
    expect(same!).toBeLessThan(diff);
    expect(same!).toBeLessThan(0.6); // face-api's same-person threshold
    console.log(`identity: same face ×2-degraded ${same!.toFixed(3)}, different face ${diff.toFixed(3)}`);
  }, 120_000);
});
