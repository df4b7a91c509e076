import { promises as fsp } from 'node:fs';
import sharp from 'sharp';
import type { ImageU8 } from '../image';

/**
 * Decode an image file to 8-bit pixels as stored (alpha dropped, grey kept as 1 channel; no EXIF
 * rotation, no colour conversion: metrics compare the pixels). Errors are one line naming the file.
 */
export async function readImageU8(file: string): Promise<ImageU8> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch {
    throw new Error(`${file}: not found`);
  }
  if (!st.isFile()) throw new Error(`${file}: not a file`);
  if (st.size === 0) throw new Error(`${file}: empty file`);
  let res;
  try {
    res = await sharp(file, { limitInputPixels: 300_000_000 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`${file}: cannot decode image (${((e as Error).message || '').split('\n')[0]})`);
  }
  const { data, info } = res;
  if (info.channels === 2 || info.channels === 4) throw new Error(`${file}: unsupported channel layout`);
  return { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

export async function writeImageU8(img: ImageU8, file: string): Promise<void> {
  await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4 },
  }).toFile(file);
}
