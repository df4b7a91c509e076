/**
 * Image I/O with sharp: probe and decode with EXIF orientation applied, colour converted to sRGB,
 * and encode with the source's ICC profile and a summary of its EXIF carried over; outputs are
 * written to a temp file and renamed, never over the input.
 */
import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { fsReason, tempPathIn } from './safe-fs';
import { InputError } from './errors';
import type { ImageU8 } from './image';
import type { OutputFormat } from '../shared/types';

export const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'avif', 'heif']);
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif', '.heic', '.heif']);
/** Largest input we accept (megapixels), checked from the header before decoding. */
export const MAX_INPUT_PIXELS = 100_000_000;
/** Largest output we write. */
export const MAX_OUTPUT_PIXELS = 300_000_000;

/** Why an enlargement of a width×height photo by `scale` is refused before any work (null: it is not). */
export function enlargementLimitReason(width: number, height: number, scale: number): string | null {
  if (width * height > MAX_INPUT_PIXELS) return `image is ${width}×${height} (${((width * height) / 1e6).toFixed(0)} MP), above the ${MAX_INPUT_PIXELS / 1e6} MP limit`;
  const out = width * height * scale * scale;
  if (out > MAX_OUTPUT_PIXELS) return `output would be ${width * scale}×${height * scale} (${(out / 1e6).toFixed(0)} MP), above the ${MAX_OUTPUT_PIXELS / 1e6} MP limit`;
  return null;
}

sharp.cache(false);

export interface SourceMeta {
  file: string;
  format: string;
  /** Size after EXIF orientation. */
  width: number;
  height: number;
  channels: number;
  hasAlpha: boolean;
  orientation: number;
  icc: Buffer | null;
  iccSpace: string | null;
  exif: ExifFields;
  bytes: number;
}

export interface ExifFields {
  Make?: string;
  Model?: string;
  DateTime?: string;
  DateTimeOriginal?: string;
  Artist?: string;
  Copyright?: string;
  ImageDescription?: string;
}

function sharpReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split('\n')[0];
  if (/unsupported image format/i.test(first)) return 'unsupported or unrecognised image format';
  if (/pixel limit/i.test(first)) return 'image is too large to decode';
  if (/premature end|truncated|unexpected end|corrupt|bad|invalid|VipsJpeg|read error|not a known file format|libspng|zlib|crc/i.test(first)) {
    return `corrupt or truncated image (${first.replace(/^Input (file|buffer) /, '').slice(0, 120)})`;
  }
  return first.slice(0, 160);
}

async function statFile(file: string): Promise<fs.Stats> {
  let st: fs.Stats;
  try {
    st = await fsp.stat(file);
  } catch {
    throw new InputError('NOT_FOUND', file, 'file not found');
  }
  if (!st.isFile()) throw new InputError('NOT_A_FILE', file, 'not a regular file');
  if (st.size === 0) throw new InputError('EMPTY', file, 'empty file (0 bytes)');
  return st;
}

/** Minimal EXIF summary from the raw EXIF block (exifr parses the TIFF structure). */
async function readExif(raw: Buffer | undefined): Promise<ExifFields> {
  if (!raw || raw.length < 8) return {};
  try {
    const exifr = (await import('exifr')).default;
    const tags = (await exifr.parse(raw, { tiff: true, ifd0: {} as never, exif: true, gps: false, translateValues: false, reviveValues: false })) as Record<string, unknown> | undefined;
    if (!tags) return {};
    const out: ExifFields = {};
    for (const k of ['Make', 'Model', 'DateTime', 'DateTimeOriginal', 'Artist', 'Copyright', 'ImageDescription'] as const) {
      const v = tags[k];
      if (typeof v === 'string' && v.trim()) out[k] = v.trim().slice(0, 256);
    }
    return out;
  } catch {
    return {};
  }
}

function iccColourSpace(icc: Buffer | undefined): string | null {
  if (!icc || icc.length < 20) return null;
  return icc.subarray(16, 20).toString('latin1').trim();
}

/** Reads the header (no full decode) and validates size and format. */
export async function probeImage(file: string): Promise<SourceMeta> {
  const st = await statFile(file);
  let md: Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>;
  try {
    md = await sharp(file, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new InputError('CORRUPT', file, sharpReason(e));
  }
  const format = md.format ?? 'unknown';
  if (!SUPPORTED_FORMATS.has(format)) throw new InputError('UNSUPPORTED', file, `unsupported format "${format}"`);
  if (!md.width || !md.height) throw new InputError('CORRUPT', file, 'image has no dimensions');
  const px = md.width * md.height;
  if (px > MAX_INPUT_PIXELS) {
    throw new InputError('TOO_LARGE', file, `image is ${md.width}×${md.height} (${(px / 1e6).toFixed(0)} MP), above the ${MAX_INPUT_PIXELS / 1e6} MP limit`);
  }
  const orientation = md.orientation ?? 1;
  const swap = orientation >= 5 && orientation <= 8;
  return {
    file,
    format,
    width: swap ? md.height : md.width,
    height: swap ? md.width : md.height,
    channels: md.channels ?? 3,
    hasAlpha: !!md.hasAlpha,
    orientation,
    icc: md.icc ?? null,
    iccSpace: iccColourSpace(md.icc),
    exif: await readExif(md.exif),
    bytes: st.size,
  };
}

/**
 * Decodes to sRGB 8-bit, orientation applied. Returns RGB plus the alpha plane when present.
 * Truncated and corrupt files fail here with an InputError.
 */
export async function decodeImage(file: string, meta?: SourceMeta): Promise<{ meta: SourceMeta; rgb: ImageU8; alpha: ImageU8 | null }> {
  const m = meta ?? (await probeImage(file));
  try {
    const { data, info } = await sharp(file, { failOn: 'truncated', limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const n = info.width * info.height;
    const rgb = new Uint8Array(n * 3);
    const alpha = m.hasAlpha ? new Uint8Array(n) : null;
    for (let i = 0; i < n; i++) {
      rgb[i * 3] = data[i * 4];
      rgb[i * 3 + 1] = data[i * 4 + 1];
      rgb[i * 3 + 2] = data[i * 4 + 2];
      if (alpha) alpha[i] = data[i * 4 + 3];
    }
    return {
      meta: { ...m, width: info.width, height: info.height },
      rgb: { width: info.width, height: info.height, channels: 3, data: rgb },
      alpha: alpha ? { width: info.width, height: info.height, channels: 1, data: alpha } : null,
    };
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('CORRUPT', file, sharpReason(e));
  }
}

/** The encodings a result is written in: the contract's format list (src/shared/contract.ts FormatSchema). */
export type EncodeFormat = OutputFormat;

export function formatForPath(p: string): EncodeFormat | null {
  const ext = path.extname(p).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.webp') return 'webp';
  return null;
}

export function extensionFor(format: EncodeFormat): string {
  return format === 'jpeg' ? '.jpg' : `.${format}`;
}

export interface EncodeOptions {
  format: EncodeFormat;
  quality?: number;
  keepMetadata?: boolean;
  /** Refuse to replace an existing file (default: replace; the input is never replaced either way). */
  noClobber?: boolean;
  /** Write a single-channel (greyscale) image: a grey photo stays grey. */
  grey?: boolean;
}

/** The grey verdict of src/engine/image.ts (kept under this name for its callers). */
export { isGrey as isGreyU8 } from './image';

/** Writes `buf` atomically: short temp file in the same folder, fsync, rename; the temp is removed on any failure. */
export async function writeAtomic(outPath: string, buf: Buffer, noClobber = false): Promise<void> {
  try {
    await fsp.mkdir(path.dirname(outPath), { recursive: true });
  } catch (e) {
    // (A read-only output used to surface as a raw "ENOENT ... mkdir".)
    throw new InputError('OUTPUT_UNWRITABLE', outPath, `cannot create the output folder ${path.dirname(outPath)} (${fsReason(e)})`);
  }
  if (noClobber && fs.existsSync(outPath)) throw new InputError('OUTPUT_EXISTS', outPath, 'output already exists');
  const tmp = tempPathIn(path.dirname(outPath));
  try {
    const fh = await fsp.open(tmp, 'wx');
    try {
      await fh.writeFile(buf);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (noClobber && fs.existsSync(outPath)) throw new InputError('OUTPUT_EXISTS', outPath, 'output already exists');
    await fsp.rename(tmp, outPath);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    // A file-system failure (full disk, read-only, permission) in words, naming the output.
    if ((e as NodeJS.ErrnoException).code && !(e instanceof InputError)) throw new InputError('OUTPUT_UNWRITABLE', outPath, `cannot write the output (${fsReason(e)})`);
    throw e;
  }
}

/**
 * Encodes sRGB pixels (+ optional alpha) to `outPath` with the source's ICC profile (pixels are
 * converted from sRGB into it) and EXIF summary carried over, orientation reset to 1.
 */
export async function encodeImage(rgb: ImageU8, alpha: ImageU8 | null, source: SourceMeta | null, outPath: string, opts: EncodeOptions): Promise<{ bytes: number }> {
  if (source && path.resolve(outPath) === path.resolve(source.file)) {
    throw new InputError('OUTPUT_EXISTS', outPath, 'refusing to write over the original');
  }
  if (rgb.width * rgb.height > MAX_OUTPUT_PIXELS) {
    throw new InputError('TOO_LARGE', source?.file ?? outPath, `output would be ${rgb.width}×${rgb.height}, above the ${MAX_OUTPUT_PIXELS / 1e6} MP limit`);
  }
  const withAlpha = alpha && opts.format !== 'jpeg';
  const ch = withAlpha ? 4 : 3;
  let px: Buffer;
  if (withAlpha) {
    px = Buffer.alloc(rgb.width * rgb.height * 4);
    for (let i = 0, n = rgb.width * rgb.height; i < n; i++) {
      px[i * 4] = rgb.data[i * 3];
      px[i * 4 + 1] = rgb.data[i * 3 + 1];
      px[i * 4 + 2] = rgb.data[i * 3 + 2];
      px[i * 4 + 3] = alpha!.data[i];
    }
  } else {
    px = Buffer.from(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength);
  }
  let img = sharp(px, { raw: { width: rgb.width, height: rgb.height, channels: ch as 3 | 4 }, limitInputPixels: false });
  let iccTmp: string | null = null;
  const keep = opts.keepMetadata !== false && source;
  if (opts.grey) img = img.toColourspace('b-w');
  else if (keep && source.icc && source.iccSpace === 'RGB') {
    iccTmp = path.join(os.tmpdir(), `daguerre-icc-${process.pid}-${randomBytes(4).toString('hex')}.icc`);
    await fsp.writeFile(iccTmp, source.icc);
    img = img.withIccProfile(iccTmp, { attach: true });
  }
  if (keep && Object.keys(source.exif).length) {
    const ifd0: Record<string, string> = {};
    for (const [k, v] of Object.entries(source.exif)) if (k !== 'DateTimeOriginal' && v) ifd0[k] = v;
    if (Object.keys(ifd0).length) img = img.withExif({ IFD0: ifd0 });
  }
  const q = opts.quality ?? 92;
  if (opts.format === 'png') img = img.png({ compressionLevel: 6 });
  else if (opts.format === 'jpeg') img = img.jpeg({ quality: q, chromaSubsampling: q >= 90 ? '4:4:4' : '4:2:0' });
  else img = img.webp({ quality: q });
  try {
    const buf = await img.toBuffer();
    await writeAtomic(outPath, buf, opts.noClobber);
    return { bytes: buf.length };
  } finally {
    if (iccTmp) await fsp.rm(iccTmp, { force: true });
  }
}

/** Makes a thumbnail (longest side `size`), orientation applied, as WebP. */
export async function makeThumbnail(file: string, outPath: string, size = 320): Promise<void> {
  try {
    const buf = await sharp(file, { failOn: 'truncated', limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .webp({ quality: 80 })
      .toBuffer();
    await writeAtomic(outPath, buf);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('CORRUPT', file, sharpReason(e));
  }
}
