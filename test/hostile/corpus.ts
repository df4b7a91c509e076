/**
 * A deterministic hostile-input corpus (issue 14): broken, misleading and extreme image files, each
 * with what a careful importer must do with it. `hostileCorpus()` returns the files in memory;
 * `writeCorpus(dir, files)` writes them. Same seed, same bytes.
 *
 * expect: 'ok'   a valid image that must import/restore;
 *         'bad'  must be refused with a one-line error naming the file;
 *         'any'  either is acceptable (e.g. decoders differ on a JPEG without EOI), but never a crash.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import sharp from 'sharp';

export type Expect = 'ok' | 'bad' | 'any';
export interface HostileFile {
  name: string;
  bytes: Buffer;
  expect: Expect;
  why: string;
}

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randomBytes = (r: () => number, n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer, badCrc = false): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((crc32(td) ^ (badCrc ? 1 : 0)) >>> 0);
  return Buffer.concat([len, td, crc]);
}
const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** A PNG with a valid-CRC IHDR of any size and a tiny (too short) IDAT: a decompression-bomb header. */
export function pngHeader(w: number, h: number, opts: { bitDepth?: number; colorType?: number; badCrc?: boolean; idat?: Buffer } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = opts.bitDepth ?? 8;
  ihdr[9] = opts.colorType ?? 2;
  return Buffer.concat([PNG_SIG, chunk('IHDR', ihdr, opts.badCrc), chunk('IDAT', opts.idat ?? zlib.deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

/** A JPEG with an EXIF orientation tag (1..8) inserted as APP1 after SOI. */
function withOrientation(jpeg: Buffer, o: number): Buffer {
  const tiff = Buffer.from([0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0, 0, 0]);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'binary'), tiff]);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

/** The corpus: `cuts` truncation points per format (the total grows with it). */
export async function hostileCorpus(seed = 14, cuts = 24): Promise<HostileFile[]> {
  const r = rng(seed);
  const out: HostileFile[] = [];
  const add = (name: string, bytes: Buffer, expect: Expect, why: string) => out.push({ name, bytes, expect, why });

  // Valid sources: a small gradient with detail.
  const W = 40,
    H = 32;
  const px = Buffer.alloc(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    const x = i % W,
      y = (i / W) | 0;
    px[i * 3] = (x * 6) & 255;
    px[i * 3 + 1] = (y * 8) & 255;
    px[i * 3 + 2] = ((x ^ y) * 5) & 255;
  }
  const raw = { raw: { width: W, height: H, channels: 3 as const } };
  const png = await sharp(px, raw).png().toBuffer();
  const jpg = await sharp(px, raw).jpeg({ quality: 90 }).toBuffer();
  const webp = await sharp(px, raw).webp({ quality: 80 }).toBuffer();
  const gif = await sharp(px, raw).gif().toBuffer();
  const tif = await sharp(px, raw).tiff().toBuffer();
  add('good.png', png, 'ok', 'valid PNG');
  add('good.jpg', jpg, 'ok', 'valid JPEG');
  add('good.webp', webp, 'ok', 'valid WebP');
  add('good.gif', gif, 'ok', 'valid GIF');
  add('good.tif', tif, 'ok', 'valid TIFF');
  add('one-by-one.png', await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer(), 'any', '1x1');
  add('sixteen-bit.png', await sharp(px, raw).png().toColourspace('rgb16').toBuffer(), 'ok', '16-bit PNG');
  add('palette-alpha.png', await sharp(px, raw).ensureAlpha(0.5).png({ palette: true, colours: 16 }).toBuffer(), 'ok', 'palette PNG with alpha');
  add('cmyk.jpg', await sharp(px, raw).toColourspace('cmyk').jpeg().toBuffer(), 'ok', 'CMYK JPEG');
  add('grey.jpg', await sharp(px, raw).greyscale().jpeg().toBuffer(), 'ok', 'greyscale JPEG');
  for (let o = 1; o <= 8; o++) add(`orient-${o}.jpg`, withOrientation(jpg, o), 'ok', `EXIF orientation ${o}`);
  add('café photo ü 写真.jpg', jpg, 'ok', 'unicode and spaces in the name');
  add('-leading-dash.png', png, 'ok', 'a name starting with a dash');
  add('  spaces  .png', png, 'ok', 'leading and trailing spaces');
  add('png-named.jpg', png, 'ok', 'wrong extension (PNG bytes)');
  add('jpeg-named.png', jpg, 'ok', 'wrong extension (JPEG bytes)');
  add('webp-named.tif', webp, 'ok', 'wrong extension (WebP bytes)');

  // Empty and junk.
  add('empty.png', Buffer.alloc(0), 'bad', 'zero bytes');
  add('empty.jpg', Buffer.alloc(0), 'bad', 'zero bytes');
  add('zeros.png', Buffer.alloc(4096), 'bad', 'all zero');
  const magics: Record<string, Buffer> = {
    png: PNG_SIG,
    jpg: Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
    webp: Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'binary'),
    gif: Buffer.from('GIF89a', 'ascii'),
    tif: Buffer.from([0x49, 0x49, 0x2a, 0]),
    bmp: Buffer.from('BM', 'ascii'),
    heic: Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x68, 0x65, 0x69, 0x63]),
  };
  for (const [ext, m] of Object.entries(magics)) for (let k = 0; k < 4; k++) add(`random-${ext}-${k}.${ext}`, Buffer.concat([m, randomBytes(r, 32 + Math.floor(r() * 2000))]), 'bad', `random bytes after ${ext} magic`);
  add('text.jpg', Buffer.from('this is not an image\n'), 'bad', 'text named .jpg');

  // Truncations at many cut points.
  for (const [label, b] of [['png', png], ['jpg', jpg], ['webp', webp]] as const) {
    for (let i = 0; i < cuts; i++) {
      const at = Math.max(1, Math.floor(((i + 0.5) / cuts) * (b.length - 2)));
      add(`trunc-${label}-${String(at).padStart(5, '0')}.${label}`, b.subarray(0, at), 'any', `${label} cut at byte ${at} of ${b.length}`);
    }
  }
  add('jpeg-no-eoi.jpg', jpg.subarray(0, jpg.length - 2), 'any', 'JPEG without its EOI marker');

  // Extreme headers and bad checksums.
  add('huge-30000x30000.png', pngHeader(30000, 30000), 'bad', '900-megapixel header, tiny body');
  add('huge-100000x1.png', pngHeader(100000, 1), 'any', '100000x1 header');
  add('huge-1x100000.png', pngHeader(1, 100000), 'any', '1x100000 header');
  add('zero-width.png', pngHeader(0, 32), 'bad', 'zero width');
  add('zero-height.png', pngHeader(32, 0), 'bad', 'zero height');
  add('bad-crc.png', pngHeader(16, 16, { badCrc: true }), 'bad', 'IHDR with a wrong CRC');
  const idat = png.indexOf('IDAT');
  const flipped = Buffer.from(png);
  flipped[idat + 8] ^= 0xff;
  add('bad-idat-crc.png', flipped, 'any', 'IDAT body altered (CRC no longer matches)');

  // SVG with external references (never fetched; refused or rendered without them).
  add('external.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" height="20"><image xlink:href="http://127.0.0.1:9/x.png" width="20" height="20"/><image href="file:///etc/passwd"/></svg>'), 'any', 'SVG with external refs');
  add('svg-named.png', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'), 'any', 'SVG bytes named .png');
  return out;
}

export function writeCorpus(dir: string, files: HostileFile[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return files.map((f) => {
    const p = path.join(dir, f.name);
    fs.writeFileSync(p, f.bytes);
    return p;
  });
}
