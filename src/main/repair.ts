/**
 * Damage repair (issue 17) between the contract and the engine: the checks main makes on a restore's
 * `repair` before it queues anything (a mask file must be one the user chose or the library's own, an
 * image, and of the photo's shape), and the engine request the queue builds from it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { ErrorCode } from '../shared/contract';
import type { Library } from './library';
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

/** Where a photo's painted damage mask lives: in its results folder, so removing the photo removes it. */
export function maskPathFor(library: Library, photoId: number): string {
  return path.join(library.resultsDir, String(photoId), 'damage-mask.png');
}

export class MaskError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The handlers of masks.get / masks.save / masks.clear. A saved mask is thresholded to 0/255 and kept
 * as a one-channel PNG; an empty mask clears it; a mask of every pixel, another shape or a non-PNG is
 * refused with one line. The photo's prefs.repair then names the file, and its restores use it.
 */
export function maskHandlers(library: Library, changed: () => void) {
  const photoOf = (id: number): Photo => {
    const p = library.get(id);
    if (!p) throw new MaskError('NOT_FOUND', `photo ${id} not found`);
    return p;
  };
  const clear = async (photoId: number): Promise<Photo> => {
    const p = photoOf(photoId);
    await fs.promises.rm(maskPathFor(library, photoId), { force: true });
    const out = library.setPrefs(p.id, { repair: null } as never)!;
    changed();
    return out;
  };
  return {
    'masks.get': async (a: { photoId: number }): Promise<{ png: string | null; coverage: number }> => {
      const p = photoOf(a.photoId);
      const file = maskPathFor(library, p.id);
      if (!fs.existsSync(file)) return { png: null, coverage: 0 };
      const buf = await fs.promises.readFile(file);
      const { data } = await sharp(buf).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      let n = 0;
      for (let i = 0; i < data.length; i++) if (data[i] >= 128) n++;
      return { png: buf.toString('base64'), coverage: n / data.length };
    },
    'masks.save': async (a: { photoId: number; png: string }): Promise<Photo> => {
      const p = photoOf(a.photoId);
      const buf = Buffer.from(a.png.replace(/^data:image\/png;base64,/, ''), 'base64');
      let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
      try {
        const md = await sharp(buf).metadata();
        if (md.format !== 'png') throw new Error(`not a PNG (${md.format ?? 'unknown format'})`);
        raw = await sharp(buf).flatten({ background: '#000' }).greyscale().raw().toBuffer({ resolveWithObject: true });
      } catch (e) {
        throw new MaskError('BAD_ARGS', `${p.name}: damage mask: ${(e as Error).message.split('\n')[0]}`);
      }
      const { width: w, height: h } = raw.info;
      if (!maskFits(w, h, p.width, p.height)) throw new MaskError('BAD_ARGS', `${p.name}: damage mask is ${w}×${h} but the photo is ${p.width}×${p.height} (a different shape)`);
      const bin = Buffer.alloc(w * h);
      let n = 0;
      for (let i = 0; i < bin.length; i++) if (raw.data[i * raw.info.channels] >= 128) (bin[i] = 255), n++;
      if (n === 0) return clear(p.id);
      if (n === bin.length) throw new MaskError('BAD_ARGS', `${p.name}: damage mask covers the whole photo`);
      const file = maskPathFor(library, p.id);
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await sharp(bin, { raw: { width: w, height: h, channels: 1 } }).png().toFile(tmp);
      await fs.promises.rename(tmp, file);
      const out = library.setPrefs(p.id, { repair: { mask: file } })!;
      changed();
      return out;
    },
    'masks.clear': (a: { photoId: number }) => clear(a.photoId),
  };
}
