/**
 * fp32 vs int8 end to end (issue 19 item 2): one real photo enlarged ×4 by `daguerre restore`'s engine
 * call (runRestore: decode, natural-x4 skipdiff:0.5, encode, result metrics) with the precision setting
 * 'fp32' and 'int8' side by side in one run, in ABBA order (fp32, int8, int8, fp32, … per --rounds), on
 * the cpu provider. Sessions are opened and warmed on a small input first, so no run pays for a load.
 * Besides wall time, each run's CPU time (user + system of this process, all threads): on a shared
 * machine the wall time depends on the other work, the CPU time far less.
 *
 *   npx tsx bench/int8/enlarge.ts [--photo <file>] [--size 512] [--threads 2] [--rounds 1] [--md <file>] [--json <file>]
 *
 * The photo is centre-cropped to a square and resized to --size (Lanczos) first: a 512² input → 2048².
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { openModel } from '../../src/engine/catalogue';
import { runRestore, type RestoreOutcome } from '../../src/engine/restore';

const args = process.argv.slice(2);
const arg = (k: string, d: string) => (args.includes(`--${k}`) ? args[args.indexOf(`--${k}`) + 1] : d);
const root = resolve(new URL('../..', import.meta.url).pathname);
const photo = resolve(arg('photo', join(root, '../shared/data/real/lowres/people_astronaut_512.png')));
const size = Number(arg('size', '512'));
const threads = Number(arg('threads', '2'));
const rounds = Number(arg('rounds', '1'));
const mdOut = args.includes('--md') ? arg('md', '') : null;
const jsonOut = args.includes('--json') ? arg('json', '') : null;
const modelDirs = [join(root, 'models')];
const MODEL = 'natural-x4';
const tmp = mkdtempSync(join(tmpdir(), 'daguerre-int8-enlarge-'));

const input = join(tmp, 'input.png');
{
  const m = await sharp(photo).metadata();
  const side = Math.min(m.width!, m.height!);
  await sharp(photo)
    .extract({ left: (m.width! - side) >> 1, top: (m.height! - side) >> 1, width: side, height: side })
    .resize(size, size, { kernel: 'lanczos3' })
    .removeAlpha()
    .png()
    .toFile(input);
}
const warm = join(tmp, 'warm.png');
await sharp(input).resize(40, 40).png().toFile(warm);

type P = 'fp32' | 'int8';
const params = { scale: 4 as const, method: MODEL, sampler: 'skipdiff', fidelity: 0.5, seed: 0 };
const restore = (p: P, file: string, output: string) => runRestore({ input: file, output, params, format: 'png', modelDirs, threads, provider: 'cpu', precision: p });

for (const p of ['fp32', 'int8'] as P[]) {
  const o = await openModel(join(root, 'models', MODEL), { threads, provider: 'cpu', precision: p });
  if (o.model.precision !== p) throw new Error(`${MODEL}: precision ${p} asked, ${o.model.precision} opened (${o.precision.reason})`);
  await restore(p, warm, join(tmp, `warm-${p}.png`));
}

const order: P[] = [];
for (let r = 0; r < rounds; r++) order.push('fp32', 'int8', 'int8', 'fp32');
const runs: { precision: P; ms: number; msSampling: number; msOnnx: number; msCpu: number; calls: number; tiles: number; load: number; reason: string }[] = [];
const outputs: Partial<Record<P, string>> = {};
const load0 = loadavg()[0];
for (const [i, p] of order.entries()) {
  const output = join(tmp, `out-${p}.png`);
  const c0 = process.cpuUsage();
  const r: RestoreOutcome = await restore(p, input, output);
  const c = process.cpuUsage(c0);
  outputs[p] = output;
  const info = r.info as { msSampling: number; msOnnx: number; tiles: number; precision: { precision: P; reason: string } };
  if (info.precision.precision !== p) throw new Error(`run ${i}: ${p} asked, ${info.precision.precision} ran`);
  runs.push({ precision: p, ms: r.durationMs, msSampling: info.msSampling, msOnnx: info.msOnnx, msCpu: (c.user + c.system) / 1000, calls: r.calls, tiles: info.tiles, load: loadavg()[0], reason: info.precision.reason });
  console.error(`${i + 1}/${order.length} ${p}: ${(r.durationMs / 1000).toFixed(1)} s (sampling ${(info.msSampling / 1000).toFixed(1)} s, onnxruntime ${(info.msOnnx / 1000).toFixed(1)} s, CPU ${((c.user + c.system) / 1e6).toFixed(1)} s), load ${loadavg()[0].toFixed(1)}`);
}

// the two outputs against each other (the same seed; the last run of each)
const px = async (f: string) => (await sharp(f).raw().toBuffer());
const [a, b] = [await px(outputs.fp32!), await px(outputs.int8!)];
let se = 0;
let max = 0;
for (let i = 0; i < a.length; i++) {
  const d = Math.abs(a[i] - b[i]);
  se += d * d;
  if (d > max) max = d;
}
const psnr = 10 * Math.log10((255 * 255) / (se / a.length));
const meta = await sharp(outputs.fp32!).metadata();
type K = 'ms' | 'msSampling' | 'msOnnx' | 'msCpu';
const best = (p: P, k: K) => Math.min(...runs.filter((r) => r.precision === p).map((r) => r[k]));
const mean = (p: P, k: K) => runs.filter((r) => r.precision === p).reduce((s, r) => s + r[k], 0) / runs.filter((r) => r.precision === p).length;
const s = (ms: number) => (ms / 1000).toFixed(1);

const lines = [
  `### ${size}² → ${meta.width}×${meta.height} (×4), ${MODEL} skipdiff:0.5, fp32 vs int8 side by side`,
  '',
  `${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model.trim()} · ${threads} threads · cpu provider · Node ${process.version} · load average ${load0.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`,
  '',
  `Photo: ${photo.replace(resolve(root, '..') + '/', '../')} (centre square resized to ${size}² by Lanczos-3); ${runs[0].tiles} tiles, ${runs[0].calls} denoiser calls per run; order ${order.join(', ')}; runRestore end to end (decode, sampling, encode PNG, result metrics).`,
  '',
  '| run | precision | total s | sampling s | inside onnxruntime s | CPU s (all threads) | load average after |',
  '|---:|---|---:|---:|---:|---:|---:|',
  ...runs.map((r, i) => `| ${i + 1} | ${r.precision} | ${s(r.ms)} | ${s(r.msSampling)} | ${s(r.msOnnx)} | ${s(r.msCpu)} | ${r.load.toFixed(1)} |`),
  '',
  '| | fp32 | int8 | fp32 / int8 |',
  '|---|---:|---:|---:|',
  `| total s, best (mean) | ${s(best('fp32', 'ms'))} (${s(mean('fp32', 'ms'))}) | ${s(best('int8', 'ms'))} (${s(mean('int8', 'ms'))}) | ${(best('fp32', 'ms') / best('int8', 'ms')).toFixed(2)}× (${(mean('fp32', 'ms') / mean('int8', 'ms')).toFixed(2)}×) |`,
  `| sampling s, best (mean) | ${s(best('fp32', 'msSampling'))} (${s(mean('fp32', 'msSampling'))}) | ${s(best('int8', 'msSampling'))} (${s(mean('int8', 'msSampling'))}) | ${(best('fp32', 'msSampling') / best('int8', 'msSampling')).toFixed(2)}× (${(mean('fp32', 'msSampling') / mean('int8', 'msSampling')).toFixed(2)}×) |`,
  `| inside onnxruntime s, best (mean) | ${s(best('fp32', 'msOnnx'))} (${s(mean('fp32', 'msOnnx'))}) | ${s(best('int8', 'msOnnx'))} (${s(mean('int8', 'msOnnx'))}) | ${(best('fp32', 'msOnnx') / best('int8', 'msOnnx')).toFixed(2)}× (${(mean('fp32', 'msOnnx') / mean('int8', 'msOnnx')).toFixed(2)}×) |`,
  `| CPU s, best (mean) | ${s(best('fp32', 'msCpu'))} (${s(mean('fp32', 'msCpu'))}) | ${s(best('int8', 'msCpu'))} (${s(mean('int8', 'msCpu'))}) | ${(best('fp32', 'msCpu') / best('int8', 'msCpu')).toFixed(2)}× (${(mean('fp32', 'msCpu') / mean('int8', 'msCpu')).toFixed(2)}×) |`,
  '',
  `int8 output vs fp32 output (same seed): PSNR ${psnr.toFixed(2)} dB (RGB), largest difference ${max} levels. int8's decision: ${runs.find((r) => r.precision === 'int8')!.reason}.`,
];
const md = lines.join('\n') + '\n';
process.stdout.write(md);
if (mdOut) {
  mkdirSync(dirname(resolve(mdOut)), { recursive: true });
  writeFileSync(mdOut, md);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ photo, size, threads, order, runs, psnr, maxDiff: max, load0 }, null, 1) + '\n');
rmSync(tmp, { recursive: true, force: true });
