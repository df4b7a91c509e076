import sharp from 'sharp';
import type { ImageU8 } from '../image';

/** Decode an image file to 8-bit pixels as stored (alpha dropped; no EXIF rotation, no colour conversion). */
export async function readImageU8(file: string): Promise<ImageU8> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 1 && info.channels !== 3) throw new Error(`unsupported channel count ${info.channels}`);
  return { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

export async function writeImageU8(img: ImageU8, file: string): Promise<void> {
  await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4 },
  }).toFile(file);
}
