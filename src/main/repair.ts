/**
 * Damage repair (issue 17) between the contract and the engine: the checks main makes on a restore's
 * `repair` before it queues anything (a mask file must be one the user chose or the library's own, an
 * image, and of the photo's shape), and the engine request the queue builds from it.
 */
import * as path from 'node:path';
import type { ErrorCode } from '../shared/contract';
import type { Photo, RestoreParams } from '../shared/types';
import type { RestoreRequest } from '../engine/restore';
import { probeImage } from '../engine/image-io';

/** The engine's form of a restore's `repair` ('off' or absent: none). */
export function repairRequest(repair: RestoreParams['repair']): RestoreRequest['repair'] {
  if (repair === 'detect') return { detect: true };
  if (repair && typeof repair === 'object') return { mask: repair.mask };
  return undefined;
}

/** Same shape within 1 % (the engine resizes such a mask by nearest neighbour; fitMask in engine/damage/mask.ts). */
export function maskFits(mw: number, mh: number, W: number, H: number): boolean {
  return (mw === W && mh === H) || Math.abs(mw / mh / (W / H) - 1) <= 0.01;
}

/**
 * Why `repair` cannot be used for these photos (one line naming the file and the reason), or null.
 * Masks that are empty or all white are the engine's to judge (it decodes them): an empty one repairs
 * nothing, an all-white one fails that job with one line.
 */
export async function repairProblem(
  repair: RestoreParams['repair'],
  photos: Photo[],
  allowed: (p: string) => boolean,
): Promise<{ code: ErrorCode; message: string } | null> {
  if (!repair || typeof repair !== 'object') return null;
  const file = repair.mask;
  if (!path.isAbsolute(file) || !allowed(file)) return { code: 'FORBIDDEN_PATH', message: `damage mask ${file}: not a file you chose` };
  let w: number, h: number;
  try {
    ({ width: w, height: h } = await probeImage(file));
  } catch (e) {
    return { code: 'BAD_ARGS', message: `damage mask ${(e as Error).message.split('\n')[0]}` };
  }
  for (const p of photos) {
    if (!maskFits(w, h, p.width, p.height)) return { code: 'BAD_ARGS', message: `${p.name}: damage mask ${file} is ${w}×${h} but the photo is ${p.width}×${p.height} (a different shape)` };
  }
  return null;
}
