/**
 * `daguerre bench --set <folder> --scale <2|4|8> [--n <count>] [--methods <list>] [--model <id>]
 *                 [--seed <n>] [--fidelity <f>] [--threads <n>] [--provider <p>] [--precision <p>] [--json <file>] [--plot <file.svg|png>] [--md <file>]`
 *
 * The quality / speed benchmark (DESIGN.md §5). Each HR image of the set is cropped to a multiple of
 * the scale and degraded by the paper's protocol (PyTorch antialiased bicubic down, rounded to uint8);
 * every method restores the LR; the methods are interleaved per image (and their order rotated from
 * image to image) so machine noise hits all of them. Per method: mean and std of PSNR and SSIM (Y,
 * border = scale), our no-reference score (NIQE with our own parameters; small-block variant for
 * images under 192 px), LR-consistency (PSNR), denoiser calls per image, median wall ms per image
 * (restore only: metrics excluded; one untimed warm-up per method first), output megapixels per minute.
 *
 * Methods: hr (the ground truth itself: a reference row for NIQE; not in the default list),
 * bicubic (PyTorch-matching bicubic, a = -0.75: the same upsampling the model is conditioned
 * on), lanczos (the app's centre-aligned Lanczos-3), ddpm:<k>, ddim:<k>, csa, fixed:<calls>, skipdiff:<knob>. A list
 * may abbreviate: "ddpm:10,20" = ddpm:10, ddpm:20. Diffusion methods need the engine
 * (src/engine/diffusion/index.ts) and a model; without them they are listed as unavailable.
 */
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import sharp from 'sharp';
import type { ImageF32, ImageU8 } from '../../engine/image';
import type { ModelPackage } from '../../engine/diffusion/index';
import type { ChoiceInfo, PrecisionChoice } from '../../engine/catalogue';
import type { PrecisionSetting } from '../../shared/types';
import type { ProviderSetting } from '../../engine/providers';
import { cropU8, f32ToU8, u8ToF32 } from '../../engine/image';
import { readImageU8 } from '../../engine/metrics/io';
import { resampleU8 } from '../../engine/resample';
import { median } from '../../engine/stats';
import { canReach, gflopsPerImage, ModelCard, pickForScale } from '../../shared/card';
import {
  bufToU8,
  cropToMultiple,
  gmsdY,
  MSSSIM_MIN_SIDE,
  msssimY,
  lrConsistency,
  noReferenceScore,
  psnrY,
  resizeBicubicTorch,
  ssimY,
  u8ToBuf,
} from '../../engine/metrics';
import { TEST_DEGRADATIONS, degradeForTest, describeTestDegradation, parseTestDegradation, type TestDegradation } from '../../engine/metrics/test-degrade';

export const DEFAULT_METHODS = 'bicubic,lanczos,ddpm:10,20,50,100,ddim:20,csa,fixed:10,skipdiff:0,0.25,0.5,0.75,1';
const IMAGE_EXT = /\.(png|jpe?g|webp|tiff?|bmp)$/i;

export interface BenchOpts {
  set: string;
  scale: string;
  n?: string;
  methods?: string;
  model?: string;
  seed?: string;
  fidelity?: string;
  threads?: string;
  crop?: string;
  modelsDir?: string;
  json?: string;
  plot?: string;
  md?: string;
  quiet?: boolean;
  /** Execution provider setting (auto | cpu | webgpu | dml | coreml | cuda); default cpu, as before. */
  provider?: string;
  /** Denoiser precision setting (auto | fp32 | int8; catalogue.ts resolvePrecision); default fp32, as before. */
  precision?: string;
  /** Test degradation of the LR (bicubic | real:light | real:medium | real:heavy); default bicubic. */
  degrade?: string;
  /** Write each degraded LR as <dir>/<stem>.png (for peers run outside the bench). */
  saveLr?: string;
  /** Outputs of other tools scored as extra methods: "name=<dir>" with <dir>/<stem>.png per image. */
  peer?: string[];
}

export interface MethodSummary {
  id: string;
  kind: 'classic' | 'diffusion' | 'peer';
  available: boolean;
  reason?: string;
  n: number;
  psnr: number;
  psnrStd: number;
  ssim: number;
  ssimStd: number;
  /** MS-SSIM on Y (NaN where an image is under 161 px a side after the border; those are left out of the mean). */
  msssim: number;
  msssimStd: number;
  /** GMSD on Y, lower = better. */
  gmsd: number;
  gmsdStd: number;
  niqe: number;
  niqeStd: number;
  niqeVariant: string;
  lrPsnr: number;
  lrPsnrStd: number;
  /** LR-PSNR against the clean (bicubic-only) LR: equals lrPsnr under --degrade bicubic. */
  lrPsnrClean: number;
  /** Denoiser evaluations per image (summed over tiles), mean over images. */
  calls: number;
  /** Denoiser evaluations of the busiest tile, mean over images. */
  callsPerTile: number;
  msMedian: number;
  msMean: number;
  /** Median over images of wall ms / denoiser call (diffusion methods). */
  msPerCall?: number;
  /** Largest resident set size seen right after this method's restores (MB; the whole process). */
  rssPeakMB: number;
  /** Denoiser GFLOP per image: calls x the card's gflopsPerCall128 (scaled to its tile area); null without a card figure or calls. */
  gflopsPerImage?: number | null;
  mpixPerMin: number;
  sampler?: string;
  fidelity?: number;
  splitN?: number | null;
  perImage: { file: string; psnr: number; ssim: number; msssim: number; gmsd: number; niqe: number; lrPsnr: number; lrPsnrClean: number; calls: number; callsPerTile: number; ms: number; px: number; splitN?: number | null; fineLevels?: number }[];
}

export interface BenchResult {
  set: string;
  scale: number;
  model: string | null;
  modelNote?: string;
  n: number;
  seed: number;
  /** Centre crop applied to the HR images (0 = none: the standard protocol). */
  crop: number;
  date: string;
  machine: { cpus: number; cpuModel: string; node: string; threads: number };
  protocol: string;
  /** The test degradation and every parameter of it. */
  degrade?: { name: string; description: string };
  methods: MethodSummary[];
  /** The provider setting and, with a diffusion model, the decision (self-test, fallback reason). */
  provider?: { setting: ProviderSetting; choice: ChoiceInfo | null };
  /** The precision setting and, with a diffusion model, which denoiser ran (fp32 or int8) and why. */
  precision?: { setting: PrecisionSetting; choice: PrecisionChoice | null };
  /** The model card's GFLOP per 128² denoiser call (metrics.gflopsPerCall128), null if it has none. */
  gflopsPerCall128?: number | null;
}

/** The cost figures of the model's card (models/<id>/card.json), or null when it has none or cannot be read. */
function cardCost(modelsDir: string, id: string | null): Pick<ModelCard, 'tile' | 'metrics'> | null {
  if (!id) return null;
  try {
    const c = ModelCard.safeParse(JSON.parse(readFileSync(path.join(modelsDir, id, 'card.json'), 'utf8')));
    return c.success && typeof c.data.metrics?.gflopsPerCall128 === 'number' ? c.data : null;
  } catch {
    return null;
  }
}

interface Method {
  id: string;
  kind: 'classic' | 'diffusion' | 'peer';
  sampler?: string;
  fidelity?: number;
  /** peer: the folder holding its outputs. */
  dir?: string;
}

/** "--peer realesrgan=/tmp/out" → a peer method reading <dir>/<stem>.png; throws on a bad spec. */
export function parsePeer(spec: string): Method {
  const m = /^([A-Za-z0-9][\w.-]*)=(.+)$/.exec(spec.trim());
  if (!m) throw new Error(`--peer: "${spec}" is not name=<folder>`);
  return { id: m[1], kind: 'peer', dir: m[2] };
}

/** Expand "bicubic,ddpm:10,20,skipdiff:0,0.5" into method ids; throws on an unknown id. */
export function parseMethods(list: string, fidelity = 0.5): Method[] {
  const out: Method[] = [];
  let prefix: string | null = null;
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    let tok = raw.toLowerCase();
    if (/^[0-9.]+$/.test(tok)) {
      if (!prefix) throw new Error(`--methods: "${raw}" has no method before it`);
      tok = `${prefix}:${tok}`;
    }
    const m = /^(ddpm|ddim|fixed|skipdiff):([0-9.]+)$/.exec(tok);
    if (tok === 'bicubic' || tok === 'lanczos' || tok === 'hr') {
      out.push({ id: tok, kind: 'classic' });
      prefix = null;
    } else if (tok === 'csa') {
      out.push({ id: tok, kind: 'diffusion', sampler: 'csa', fidelity });
      prefix = null;
    } else if (m) {
      prefix = m[1];
      const v = Number(m[2]);
      if (m[1] === 'skipdiff') {
        if (!(v >= 0 && v <= 1)) throw new Error(`--methods: "${raw}": the skipdiff knob must be in [0, 1]`);
        out.push({ id: `skipdiff:${v}`, kind: 'diffusion', sampler: 'skipdiff', fidelity: v });
      } else {
        if (!Number.isInteger(v) || v < 1 || v > 10000) throw new Error(`--methods: "${raw}": the step/call count must be an integer from 1 to 10000`);
        out.push({ id: `${m[1]}:${v}`, kind: 'diffusion', sampler: `${m[1]}:${v}`, fidelity });
      }
    } else {
      throw new Error(`--methods: unknown method "${raw}" (bicubic, lanczos, hr, ddpm:<k>, ddim:<k>, csa, fixed:<calls>, skipdiff:<knob>)`);
    }
  }
  if (!out.length) throw new Error('--methods: empty list');
  const seen = new Set<string>();
  return out.filter((m) => (seen.has(m.id) ? false : (seen.add(m.id), true)));
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('quality/speed benchmark: degrade HR images, restore with each method, PSNR/SSIM/NIQE/LR-PSNR/calls/time side by side')
    .requiredOption('--set <folder>', 'folder of HR images (e.g. ../shared/data/faces/val)')
    .requiredOption('--scale <2|4|8>', 'enlargement factor')
    .option('--n <count>', 'use the first n images (sorted by name; default: all)')
    .option('--methods <list>', 'comma-separated method ids', DEFAULT_METHODS)
    .option('--model <id>', 'diffusion model id under --models-dir (default: the first model for the set’s task and scale)')
    .option('--models-dir <dir>', 'where model packages live', 'models')
    .option('--seed <n>', 'base seed (image i uses seed + i)', '0')
    .option('--fidelity <f>', 'knob used by csa / fixed / ddpm / ddim (skipdiff:<knob> sets its own)', '0.5')
    .option('--threads <n>', 'onnxruntime threads (default: all cores)')
    .option('--crop <px>', 'centre-crop each HR image to at most px x px first (quick runs on large images; not the standard protocol)')
    .option('--json <file>', 'write the full results as JSON')
    .option('--md <file>', 'write a Markdown table')
    .option('--plot <file>', 'write a PSNR vs NIQE plot (.svg or .png)')
    .option('--quiet', 'no progress on stderr')
    .option('--provider <p>', 'execution provider for the diffusion model: auto | cpu | webgpu | dml | coreml | cuda (self-tested; falls back to cpu)', 'cpu')
    .option('--precision <p>', 'denoiser precision: fp32 | int8 (the model\'s int8 denoiser, on the cpu provider) | auto (int8 where it passed its quality gate, as the app)', 'fp32')
    .option('--degrade <d>', `test degradation of the LR: ${Object.keys(TEST_DEGRADATIONS).join(' | ')} (fixed parameters, noise seeded per image)`, 'bicubic')
    .option('--save-lr <dir>', 'also write each degraded LR as <dir>/<stem>.png (inputs for peers run outside the bench)')
    .option('--peer <name=dir>', 'score another tool\'s outputs <dir>/<stem>.png as a method (repeatable)', (v: string, a: string[] = []) => [...a, v])
    .action(async (o: BenchOpts, cmd: Command) => {
      const code = await runBenchCommand(o);
      cmd.parent?.setOptionValue('exitCode', code);
      if (code) process.exitCode = code;
    });
}

export async function runBenchCommand(o: BenchOpts): Promise<number> {
  const err = (s: string) => process.stderr.write(`daguerre bench: ${s}\n`);
  try {
    const res = await runBench(o, o.quiet ? () => {} : (s) => process.stderr.write(s + '\n'));
    const md = benchMarkdown(res);
    process.stdout.write(md + '\n');
    if (o.json) writeOut(o.json, JSON.stringify(res, null, 1) + '\n');
    if (o.md) writeOut(o.md, md + '\n');
    if (o.plot) await writePlot(res, o.plot);
    return 0;
  } catch (e) {
    err((e as Error).message.split('\n')[0]);
    return (e as { usage?: boolean }).usage ? 2 : 1;
  }
}

function writeOut(file: string, text: string) {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, text);
}

function usage(msg: string): Error {
  return Object.assign(new Error(msg), { usage: true });
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: number[]) => {
  if (a.length < 2) return 0;
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1));
};

async function writeU8Png(img: ImageU8, file: string): Promise<void> {
  await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 2 | 3 | 4 } }).png().toFile(file);
}

function toRgb(img: ImageU8): ImageU8 {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = img.data[i * img.channels];
  return { width: img.width, height: img.height, channels: 3, data: out };
}

function centreCrop(img: ImageU8, size: number): ImageU8 {
  const w = Math.min(size, img.width);
  const h = Math.min(size, img.height);
  if (w === img.width && h === img.height) return img;
  const x0 = (img.width - w) >> 1;
  const y0 = (img.height - h) >> 1;
  return cropU8(img, { x: x0, y: y0, w, h });
}


function bicubic(lr: ImageU8, w: number, h: number): ImageU8 {
  return bufToU8(resizeBicubicTorch(u8ToBuf(lr), w, h));
}

type DiffusionApi = typeof import('../../engine/diffusion/index');

/** The diffusion engine, or why it is unavailable (onnxruntime missing). */
async function loadDiffusion(): Promise<DiffusionApi | string> {
  try {
    return await import('../../engine/diffusion/index');
  } catch (e) {
    return `the diffusion engine is not available (src/engine/diffusion/index.ts: ${(e as Error).message.split('\n')[0]})`;
  }
}

export async function runBench(o: BenchOpts, log: (s: string) => void = () => {}): Promise<BenchResult> {
  const scale = Number(o.scale);
  if (![2, 4, 8].includes(scale)) throw usage(`--scale must be 2, 4 or 8 (got "${o.scale}")`);
  const seed = Number(o.seed ?? 0);
  if (!Number.isInteger(seed) || seed < 0) throw usage(`--seed must be a non-negative integer (got "${o.seed}")`);
  const fidelity = Number(o.fidelity ?? 0.5);
  if (!(fidelity >= 0 && fidelity <= 1)) throw usage(`--fidelity must be in [0, 1] (got "${o.fidelity}")`);
  const threads = o.threads ? Number(o.threads) : availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw usage(`--threads must be a positive integer (got "${o.threads}")`);
  const crop = o.crop !== undefined ? Number(o.crop) : 0;
  if (!Number.isInteger(crop) || crop < 0 || (crop > 0 && crop < 16 * scale)) throw usage(`--crop must be an integer >= ${16 * scale} px (got "${o.crop}")`);
  let providerSetting: ProviderSetting;
  try {
    providerSetting = (await import('../../engine/providers')).parseProviderSetting(o.provider ?? 'cpu');
  } catch (e) {
    throw usage((e as Error).message);
  }
  let precisionSetting: PrecisionSetting;
  try {
    precisionSetting = (await import('../../engine/catalogue')).parsePrecisionSetting(o.precision ?? 'fp32');
  } catch (e) {
    throw usage((e as Error).message);
  }
  let providerChoice: ChoiceInfo | null = null;
  let precisionChoice: PrecisionChoice | null = null;
  let methods: Method[];
  let degr: TestDegradation;
  try {
    methods = parseMethods(o.methods ?? DEFAULT_METHODS, fidelity);
    for (const p of o.peer ?? []) methods.push(parsePeer(p));
    degr = parseTestDegradation(o.degrade ?? 'bicubic');
  } catch (e) {
    throw usage((e as Error).message);
  }
  let files: string[];
  try {
    if (!statSync(o.set).isDirectory()) throw new Error('not a folder');
    files = readdirSync(o.set).filter((f) => IMAGE_EXT.test(f)).sort();
  } catch (e) {
    throw new Error(`${o.set}: ${(e as Error).message.includes('ENOENT') ? 'not found' : (e as Error).message}`);
  }
  if (!files.length) throw new Error(`${o.set}: no images`);
  if (o.n !== undefined) {
    const n = Number(o.n);
    if (!Number.isInteger(n) || n < 1) throw usage(`--n must be a positive integer (got "${o.n}")`);
    files = files.slice(0, n);
  }

  // ---- the diffusion engine and model (only if a diffusion method is asked for)
  const unavailable = new Map<string, string>();
  let api: DiffusionApi | null = null;
  let model: ModelPackage | null = null;
  let modelId: string | null = null;
  let modelNote: string | undefined;
  if (methods.some((m) => m.kind === 'diffusion')) {
    const d = await loadDiffusion();
    let reason: string | null = null;
    if (typeof d === 'string') reason = d;
    else {
      const task = /face/i.test(path.resolve(o.set)) ? 'face' : 'natural';
      const modelsDir = o.modelsDir ?? 'models';
      const cat = await import('../../engine/catalogue');
      const list = cat.listPackages([modelsDir]).filter((m) => m.id !== 'niqe');
      const pick = o.model
        ? list.find((m) => m.id === o.model)
        : pickForScale(list, task, scale);
      if (!pick) reason = o.model ? `model "${o.model}" not found in ${modelsDir}` : `no ${task} model for ${scale}x in ${modelsDir}`;
      else if (!pick.ok) reason = `model "${pick.id}": ${pick.error}`;
      else if (!canReach(pick.card!, scale)) reason = `model "${pick.id}" does not do ${scale}x (scales ${pick.card!.scales.join(', ')})`;
      else {
        api = d;
        // The catalogue's session on the chosen provider (self-test, CPU fallback with a reason); cpu: no self-test.
        const opened = await cat.openModel(pick.dir, { threads, provider: providerSetting !== 'cpu' ? providerSetting : undefined, precision: precisionSetting });
        if (opened.choice) {
          providerChoice = cat.choiceInfo(opened.choice);
          log(`provider: ${opened.choice.reason}`);
        }
        precisionChoice = opened.precision;
        if (precisionSetting !== 'fp32') log(`precision: ${opened.precision.reason}`);
        model = opened.model;
        modelId = pick.id;
        if (pick.card!.task !== task) modelNote = `model task "${pick.card!.task}" used on a set that looks like "${task}"`;
      }
    }
    if (reason) {
      modelNote = reason;
      for (const m of methods) if (m.kind === 'diffusion') unavailable.set(m.id, reason);
      log(`diffusion methods unavailable: ${reason}`);
    }
  }

  const runnable = methods.filter((m) => !unavailable.has(m.id));
  const per = new Map<string, MethodSummary['perImage']>(methods.map((m) => [m.id, []]));
  const variants = new Set<string>();

  const restore = async (m: Method, lr: ImageU8, w: number, h: number, s: number) => {
    if (m.id === 'hr') return { out: hrNow!, calls: 0, callsPerTile: 0 };
    if (m.id === 'bicubic') return { out: bicubic(lr, w, h), calls: 0, callsPerTile: 0 };
    if (m.id === 'lanczos') return { out: resampleU8(lr, w, h, 'lanczos'), calls: 0, callsPerTile: 0 };
    if (m.kind === 'peer') {
      const f = path.join(m.dir!, `${path.parse(fileNow).name}.png`);
      const out = toRgb(await readImageU8(f).catch((e: Error) => Promise.reject(new Error(`${m.id}: ${f}: ${e.message.split('\n')[0]}`))));
      if (out.width !== w || out.height !== h) throw new Error(`${m.id}: ${f} is ${out.width}x${out.height}, expected ${w}x${h}`);
      return { out, calls: 0, callsPerTile: 0 };
    }
    const r = await api!.restoreDiffusion(model!, u8ToF32(lr), { scale, sampler: m.sampler!, fidelity: m.fidelity!, seed: s });
    if (r.image.width !== w || r.image.height !== h) throw new Error(`${m.id}: output ${r.image.width}x${r.image.height}, expected ${w}x${h}`);
    return {
      out: f32ToU8(r.image),
      calls: r.info.calls,
      callsPerTile: r.info.callsPerTile ?? r.info.calls,
      fineLevels: r.info.fineLevelsRun?.length ?? 0,
      splitN: r.info.splitN ?? null,
    };
  };

  let hrNow: ImageU8 | null = null;
  let fileNow = '';
  const rssPeak = new Map<string, number>();
  const t0 = Date.now();
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    let full = toRgb(await readImageU8(path.join(o.set, file)));
    if (crop) full = centreCrop(full, crop);
    const hr = cropToMultiple(full, scale);
    const { lr, cleanLr } = await degradeForTest(hr, scale, degr, seed + i);
    if (o.saveLr) {
      mkdirSync(o.saveLr, { recursive: true });
      await writeU8Png(lr, path.join(o.saveLr, `${path.parse(file).name}.png`));
    }
    hrNow = hr;
    fileNow = file;
    if (i === 0) {
      // untimed warm-up (sessions, JIT, sharp): the classic methods, one 1-step diffusion run, and
      // one skipdiff run (the policy session) when a skipdiff method is listed
      const warm: Method[] = runnable.filter((m) => m.kind !== 'diffusion');
      if (runnable.some((m) => m.kind === 'diffusion')) warm.push({ id: 'warm', kind: 'diffusion', sampler: 'ddim:1', fidelity: 0 });
      if (runnable.some((m) => m.sampler === 'skipdiff')) warm.push({ id: 'warm2', kind: 'diffusion', sampler: 'skipdiff', fidelity: 0 });
      for (const m of warm) await restore(m, lr, hr.width, hr.height, seed);
    }
    const order = runnable.map((_, k) => runnable[(k + i) % runnable.length]);
    for (const m of order) {
      const ts = performance.now();
      const r = await restore(m, lr, hr.width, hr.height, seed + i);
      const ms = performance.now() - ts;
      rssPeak.set(m.id, Math.max(rssPeak.get(m.id) ?? 0, process.memoryUsage().rss / 2 ** 20));
      const nr = noReferenceScore(r.out);
      variants.add(`${nr.variant} (${nr.blockSize}px blocks)`);
      per.get(m.id)!.push({
        file,
        psnr: psnrY(r.out, hr, scale),
        ssim: ssimY(r.out, hr, scale),
        msssim: Math.min(hr.width, hr.height) - 2 * scale >= MSSSIM_MIN_SIDE ? msssimY(r.out, hr, scale) : NaN,
        gmsd: gmsdY(r.out, hr, scale),
        niqe: nr.score,
        lrPsnr: lrConsistency(r.out, lr),
        lrPsnrClean: lrConsistency(r.out, cleanLr),
        calls: r.calls,
        callsPerTile: r.callsPerTile,
        ms,
        px: r.out.width * r.out.height,
        ...('splitN' in r ? { splitN: r.splitN, fineLevels: r.fineLevels } : {}),
      });
    }
    log(`[${i + 1}/${files.length}] ${file} ${hr.width}x${hr.height} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }

  const summaries: MethodSummary[] = methods.map((m) => {
    const rows = per.get(m.id)!;
    const base = { id: m.id, kind: m.kind, sampler: m.sampler, fidelity: m.kind === 'diffusion' ? m.fidelity : undefined };
    if (unavailable.has(m.id) || !rows.length) {
      return {
        ...base, available: false, reason: unavailable.get(m.id) ?? 'no images', n: 0,
        psnr: NaN, psnrStd: NaN, ssim: NaN, ssimStd: NaN, msssim: NaN, msssimStd: NaN, gmsd: NaN, gmsdStd: NaN, niqe: NaN, niqeStd: NaN, niqeVariant: '',
        lrPsnr: NaN, lrPsnrStd: NaN, lrPsnrClean: NaN, calls: NaN, callsPerTile: NaN, msMedian: NaN, rssPeakMB: NaN, msMean: NaN, mpixPerMin: NaN, perImage: [],
      };
    }
    const col = (k: 'psnr' | 'ssim' | 'msssim' | 'gmsd' | 'niqe' | 'lrPsnr' | 'calls' | 'ms') => rows.map((r) => r[k]);
    // non-finite values (PSNR of an exact reconstruction) are left out of means; all-infinite -> Infinity
    const finite = (a: number[]) => {
      const f = a.filter((v) => Number.isFinite(v));
      return f.length || !a.length ? f : a.every((v) => v === Infinity) ? [Infinity] : [NaN];
    };
    const splits = rows.map((r) => r.splitN).filter((v): v is number => typeof v === 'number');
    const msMedian = median(col('ms'));
    const totalMs = col('ms').reduce((a, b) => a + b, 0);
    const totalPx = rows.reduce((a, r) => a + r.px, 0);
    return {
      ...base,
      available: true,
      n: rows.length,
      psnr: mean(finite(col('psnr'))),
      psnrStd: std(finite(col('psnr'))),
      ssim: mean(col('ssim')),
      ssimStd: std(col('ssim')),
      msssim: mean(finite(col('msssim'))),
      msssimStd: std(finite(col('msssim'))),
      gmsd: mean(col('gmsd')),
      gmsdStd: std(col('gmsd')),
      niqe: mean(finite(col('niqe'))),
      niqeStd: std(finite(col('niqe'))),
      niqeVariant: [...variants].join(' + '),
      lrPsnr: mean(finite(col('lrPsnr'))),
      lrPsnrStd: std(finite(col('lrPsnr'))),
      lrPsnrClean: mean(finite(rows.map((r) => r.lrPsnrClean))),
      calls: mean(col('calls')),
      callsPerTile: mean(rows.map((r) => r.callsPerTile)),
      msMedian,
      msMean: mean(col('ms')),
      msPerCall: rows[0].calls > 0 ? median(rows.map((r) => r.ms / r.calls)) : undefined,
      rssPeakMB: rssPeak.get(m.id) ?? NaN,
      mpixPerMin: totalMs > 0 && m.id !== 'hr' ? totalPx / 1e6 / (totalMs / 60000) : NaN,
      splitN: splits.length ? median(splits) : undefined,
      perImage: rows,
    };
  });
  const cost = cardCost(o.modelsDir ?? 'models', modelId);
  for (const m of summaries) m.gflopsPerImage = cost && m.available && m.kind === 'diffusion' ? gflopsPerImage(cost, m.calls) : null;
  return {
    set: o.set,
    scale,
    model: modelId,
    modelNote,
    n: files.length,
    seed,
    crop,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, threads },
    protocol:
      (crop ? `HR centre-cropped to at most ${crop}x${crop} (not the standard protocol); ` : '') +
      'HR cropped to a multiple of the scale; ' +
      (degr.name === 'bicubic' ? 'LR = PyTorch antialiased bicubic (a=-0.5) down, rounded to uint8; ' : `LR = ${describeTestDegradation(degr, scale)}; `) +
      'PSNR/SSIM on MATLAB Y with the border shaved by the scale; NIQE = our params (models/niqe), small-block variant under 192 px; ' +
      'LR-PSNR = PSNR(Y) of round(AA-bicubic down(output)) vs LR (and vs the clean bicubic LR); ms = wall time of the restore only (median over images)',
    degrade: { name: degr.name, description: describeTestDegradation(degr, scale) },
    methods: summaries,
    provider: { setting: providerSetting, choice: providerChoice },
    precision: { setting: precisionSetting, choice: precisionChoice },
    gflopsPerCall128: cost?.metrics?.gflopsPerCall128 ?? null,
  };
}

/** "faces/val" for ../shared/data/faces/val: the folder and its parent. */
export function setLabel(set: string): string {
  const abs = path.resolve(set);
  return `${path.basename(path.dirname(abs))}/${path.basename(abs)}`;
}

const f = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : v === Infinity ? 'inf' : 'n/a');
const pm = (v: number, s: number, d: number) => (Number.isFinite(v) ? `${f(v, d)} ± ${f(s, d)}` : f(v, d));

export function benchMarkdown(r: BenchResult): string {
  const variants = [...new Set(r.methods.filter((m) => m.available).map((m) => m.niqeVariant))].join(', ');
  const lines = [
    `### ${setLabel(r.set)} ×${r.scale}: ${r.n} images${r.crop ? ` (centre crops ≤ ${r.crop}²)` : ''}, model ${r.model ?? 'none'}${r.precision?.choice?.precision === 'int8' ? ' (int8 denoiser)' : ''}, seed ${r.seed}`,
    '',
    `${r.date} · ${r.machine.cpus} × ${r.machine.cpuModel} · ${r.machine.threads} threads · Node ${r.machine.node}`,
    '',
    ...(r.degrade && r.degrade.name !== 'bicubic' ? [`Degradation ${r.degrade.description}.`, ''] : []),
    `| method | PSNR (dB) ↑ | SSIM ↑ | MS-SSIM ↑ | GMSD ↓ | NIQE (ours) ↓ | LR-PSNR (dB) ↑ | LR-PSNR vs clean LR (dB) | calls / image (per tile) | GFLOP / image | median ms / image | output MP / min |`,
    `|---|---|---|---|---|---|---|---|---|---|---|---|`,
  ];
  for (const m of r.methods) {
    if (!m.available) {
      lines.push(`| ${m.id} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |`);
      continue;
    }
    lines.push(
      `| ${m.id} | ${pm(m.psnr, m.psnrStd, 2)} | ${pm(m.ssim, m.ssimStd, 4)} | ${pm(m.msssim, m.msssimStd, 4)} | ${pm(m.gmsd, m.gmsdStd, 4)} | ${pm(m.niqe, m.niqeStd, 2)} | ${pm(m.lrPsnr, m.lrPsnrStd, 2)} | ${f(m.lrPsnrClean, 2)} | ${f(m.calls, 1)} (${f(m.callsPerTile, 1)}) | ${m.gflopsPerImage != null ? f(m.gflopsPerImage, 0) : m.kind === 'diffusion' ? 'n/a' : '–'} | ${f(m.msMedian, 0)} | ${f(m.mpixPerMin, 2)} |`,
    );
  }
  lines.push('', `Mean ± std over images. NIQE: ours (models/niqe), ${variants || 'n/a'}; lower = more natural.`);
  if (r.gflopsPerCall128 != null) {
    lines.push(
      '',
      `GFLOP / image = denoiser calls (summed over tiles) × ${r.gflopsPerCall128} GFLOP per 128² call (the card's count of Conv/MatMul/Gemm MACs × 2); ` +
        'for scale, the SkipDiff paper reports 2,848 G (SkipDiff) vs 17,799 G (SR3) per image with its own network and images.',
    );
  }
  const un = r.methods.filter((m) => !m.available);
  if (un.length) lines.push('', `Unavailable: ${un.map((m) => m.id).join(', ')}: ${un[0].reason}`);
  if (r.modelNote && !un.length) lines.push('', `Note: ${r.modelNote}`);
  const ks = r.methods.filter((m) => m.available && m.kind === 'diffusion' && m.sampler !== 'skipdiff');
  if (ks.some((m) => m.sampler === 'csa' || m.sampler?.startsWith('fixed'))) {
    lines.push('', `csa / fixed use knob ${ks.find((m) => m.fidelity !== undefined)?.fidelity} for their split point.`);
  }
  return lines.join('\n');
}

/**
 * vega-lite spec: PSNR (x) vs NIQE (y, lower = better), one point per method, marker area = median
 * ms. When several diffusion methods cluster, a second panel zooms on them so their labels read.
 */
export function benchPlotSpec(r: BenchResult): Record<string, unknown> {
  const values = r.methods
    .filter((m) => m.available && Number.isFinite(m.psnr) && Number.isFinite(m.niqe))
    .map((m) => ({
      id: m.id,
      family: m.kind === 'classic' ? 'classic' : m.sampler!.split(':')[0],
      psnr: m.psnr,
      niqe: m.niqe,
      ms: Math.max(1, m.msMedian),
      calls: m.calls,
    }));
  const title = `${setLabel(r.set)} ×${r.scale} (${r.n} images${r.crop ? `, centre crops ≤ ${r.crop}²` : ''}${r.model ? `, ${r.model}` : ''})`;
  const msMax = Math.max(1, ...values.map((v) => v.ms));
  const panel = (vals: typeof values, subtitle: string, domain?: { x: [number, number]; y: [number, number] }) => ({
    title: { text: subtitle, fontSize: 12, fontWeight: 'normal' },
    width: 560,
    height: domain ? 300 : 380,
    data: { values: vals },
    layer: [
      {
        mark: { type: 'point', filled: true, opacity: 0.7, stroke: 'black', strokeWidth: 0.5, clip: true },
        encoding: {
          x: { field: 'psnr', type: 'quantitative', title: 'PSNR, Y channel (dB) → higher = more faithful', scale: domain ? { domain: domain.x, nice: false } : { zero: false, nice: true, padding: 20 } },
          y: { field: 'niqe', type: 'quantitative', title: 'NIQE, our params (lower = more natural) ↓', scale: domain ? { domain: domain.y, nice: false } : { zero: false, nice: true, padding: 20 } },
          size: { field: 'ms', type: 'quantitative', title: 'median ms / image', scale: { type: 'sqrt', domain: [0, msMax], range: [30, 1400] } },
          color: { field: 'family', type: 'nominal', title: 'method' },
          shape: { field: 'family', type: 'nominal' },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 8, dy: -8, fontSize: 11, clip: true },
        encoding: {
          x: { field: 'psnr', type: 'quantitative' },
          y: { field: 'niqe', type: 'quantitative' },
          text: { field: 'id', type: 'nominal' },
        },
      },
    ],
  });
  const diff = values.filter((v) => v.family !== 'classic');
  const charts: Record<string, unknown>[] = [panel(values, 'all methods')];
  if (diff.length >= 3 && values.length > diff.length) {
    const xs = diff.map((v) => v.psnr);
    const ys = diff.map((v) => v.niqe);
    // room on the right for the labels
    const pad = (lo: number, hi: number, fl: number, fh: number, min: number): [number, number] => {
      const d = Math.max(hi - lo, min);
      return [lo - d * fl, hi + d * fh];
    };
    charts.push(panel(diff, 'zoom on the diffusion methods', { x: pad(Math.min(...xs), Math.max(...xs), 0.08, 0.3, 0.05), y: pad(Math.min(...ys), Math.max(...ys), 0.15, 0.15, 0.05) }));
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'better = right (PSNR) and down (NIQE); marker area = median wall ms per image' },
    background: 'white',
    padding: 12,
    ...(charts.length > 1 ? { vconcat: charts, resolve: { scale: { size: 'shared', color: 'shared', shape: 'shared' } } } : charts[0]),
  };
}

export async function renderBenchPlot(r: BenchResult): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const spec = vl.compile(benchPlotSpec(r) as never).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export async function writePlot(r: BenchResult, file: string): Promise<void> {
  const svg = await renderBenchPlot(r);
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  if (/\.png$/i.test(file)) await sharp(Buffer.from(svg), { density: 144 }).png().toFile(file);
  else if (/\.svg$/i.test(file)) writeFileSync(file, svg);
  else throw new Error(`${file}: --plot must end in .svg or .png`);
}
