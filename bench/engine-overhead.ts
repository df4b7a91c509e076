/**
 * The engine's own work per tile-step (everything outside onnxruntime), this checkout against a
 * baseline revision of the engine, interleaved in one process (never a test):
 *
 *   npx tsx bench/engine-overhead.ts [--baseline <rev>] [--reps 7] [--lr 64] [--batch 4]
 *                                     [--real] [--threads 2] [--only baseline|current] [--json out.json]
 *
 * The baseline is `git archive <rev> src/engine src/shared`, unpacked under
 * node_modules/.cache/daguerre-engine-baseline/<rev>/ and imported from there, so both engines run in
 * the same process on the same inputs, runs alternating (A B B A …): on a shared, loaded machine only
 * interleaved ratios mean anything.
 *
 * 1. Engine alone: the natural-x4 card (128² tiles, overlap 16; models/natural-x4 if present, else the
 *    tiny-x4 card resized to 128² tiles), skipdiff at knob 0.5 (19 calls per tile: 9 coarse, 10 fine,
 *    9 policy decisions), an LR of `--lr`² (64 → 256², 9 tiles) ×4, with a null denoiser (returns a
 *    ready ε) and a null policy (runs every level, as the real natural-x4 policy does at 0.5): the
 *    run's whole CPU time is the engine's. Per tile-step = run time / denoiser calls.
 * 2. `--real`: the same job with the real natural-x4 sessions (onnxruntime CPU provider, `--threads`):
 *    per tile-step = (wall − time in onnxruntime − time in the policy) / calls.
 * Every pair of runs is also checked byte-for-byte (the optimised engine must not change output).
 *
 * 3. `--step` (instead of 1–2): the fused step (src/engine/diffusion/step.ts) against the JS step, the
 *    share of the wall time spent outside onnxruntime (and the policy) with each `step` setting, on the
 *    cpu provider and on WebGPU through SwiftShader (software Vulkan: it proves the path, not GPU speed),
 *    side by side in one run, each provider in its own child process (bench/gpu/step-child.ts), the
 *    settings interleaved (js, device, device-noise, js, …) after one warm-up each:
 *      tiny-x4, 24×16 → 96×64 (2 tiles), ddpm:3, batch 2      cpu and webgpu (SwiftShader)
 *      natural-x4, --lr² → (4·lr)², skipdiff knob 0.5, batch   cpu only (SwiftShader would take hours)
 *    `--sw-reps n` (default 2) and `--reps` set the timed runs per setting.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelPackage } from '../src/engine/diffusion/index';
import * as current from '../src/engine/diffusion/index';
import type { ImageF32 } from '../src/engine/image';

const args = process.argv.slice(2);
const arg = (k: string, d: string) => (args.includes(`--${k}`) ? args[args.indexOf(`--${k}`) + 1] : d);
/** The last commit with the engine as it was before the per-step optimisation. */
const BASELINE = arg('baseline', 'b716446');
const REPS = Number(arg('reps', '7'));
const LRW = Number(arg('lr', '64'));
const BATCH = Number(arg('batch', '4'));
const THREADS = Number(arg('threads', '2'));
const real = args.includes('--real');
const jsonOut = args.includes('--json') ? arg('json', '') : null;
const ROOT = new URL('..', import.meta.url).pathname;

type Engine = typeof current;
async function baselineEngine(rev: string): Promise<Engine> {
  const sha = execFileSync('git', ['rev-parse', '--short=12', rev], { cwd: ROOT }).toString().trim();
  const dir = join(ROOT, 'node_modules/.cache/daguerre-engine-baseline', sha);
  if (!existsSync(join(dir, 'src/engine/diffusion/index.ts'))) {
    mkdirSync(dir, { recursive: true });
    const tar = execFileSync('git', ['archive', sha, 'src/engine', 'src/shared'], { cwd: ROOT, maxBuffer: 1 << 28 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
  }
  return (await import(pathToFileURL(join(dir, 'src/engine/diffusion/index.ts')).href)) as Engine;
}

function lrImage(w: number): ImageF32 {
  const d = new Float32Array(w * w * 3);
  for (let y = 0; y < w; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const v = 0.5 + 0.3 * Math.sin((x + 7 * c) * 0.21) * Math.cos(y * 0.17 + c) + 0.15 * Math.sin((x * y + c * 31) * 0.013);
        d[(y * w + x) * 3 + c] = Math.min(1, Math.max(0, v));
      }
  return { width: w, height: w, data: d };
}

const naturalDir = join(ROOT, 'models/natural-x4');
const haveNatural = existsSync(join(naturalDir, 'card.json'));
function card(): ModelPackage['card'] {
  if (haveNatural) return JSON.parse(readFileSync(join(naturalDir, 'card.json'), 'utf8'));
  const c = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/models/tiny-x4/card.json'), 'utf8'));
  return { ...c, tile: { size: 128, overlap: 16, multiple: 16 } };
}

/** A package whose denoiser returns a fixed ε (roughly N(0,1)) and whose policy runs every level. */
function nullPackage(): ModelPackage {
  const c = card();
  const T = c.tile.size;
  const chw = 3 * T * T;
  const eps = new Float32Array(16 * chw);
  let s = 12345;
  for (let i = 0; i < eps.length; i++) {
    // sum of 4 uniforms (LCG): zero mean, unit-ish variance
    let u = 0;
    for (let k = 0; k < 4; k++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      u += s / 2 ** 32;
    }
    eps[i] = (u - 2) * 1.7;
  }
  const io = c.io.policy!;
  const hid = io.hidden;
  const denoiser = {
    run: async (f: Record<string, { dims: readonly number[] }>) => {
      const b = f[c.io.denoiser.inputs[0]].dims[0];
      return { [c.io.denoiser.outputs[0]]: { data: eps.subarray(0, b * chw), dims: [b, 3, T, T] } };
    },
  };
  const policy = {
    inputNames: io.inputs,
    outputNames: io.outputs,
    run: async (f: Record<string, { dims: readonly number[] }>) => {
      const b = f[io.inputs[1]].dims[0];
      return { [io.outputs[0]]: { data: new Float32Array(b).fill(0.9) }, [io.outputs[1]]: { data: new Float32Array(b) }, [io.outputs[2]]: { data: new Float32Array(b * hid) } };
    },
  };
  return { id: c.id, dir: naturalDir, card: c, denoiser, policy, providers: ['cpu'], threads: 1 } as unknown as ModelPackage;
}

interface Sample {
  wall: number;
  cpu: number;
  onnx: number;
  policy: number;
  calls: number;
  hash: string;
}
async function once(e: Engine, pkg: ModelPackage, lr: ImageF32): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await e.restoreDiffusion(pkg, lr, { scale: 4, sampler: 'skipdiff', fidelity: 0.5, seed: 1, batch: BATCH });
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const hash = createHash('sha256').update(Buffer.from(r.image.data.buffer, r.image.data.byteOffset, r.image.data.byteLength)).digest('hex').slice(0, 16);
  return { wall, cpu: (c.user + c.system) / 1000, onnx: r.info.msOnnx, policy: r.info.msPolicy, calls: r.info.calls, hash };
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const min = (a: number[]) => Math.min(...a);
const f3 = (v: number) => v.toFixed(3);

async function compare(name: string, pkg: ModelPackage, engines: [string, Engine][], lr: ImageF32, metric: (s: Sample) => number, reps: number) {
  const samples: Record<string, Sample[]> = Object.fromEntries(engines.map(([n]) => [n, []]));
  for (const [, e] of engines) await once(e, pkg, lr); // warm-up (JIT, caches)
  for (let r = 0; r < reps; r++) {
    const order = r % 2 ? [...engines].reverse() : engines;
    for (const [n, e] of order) samples[n].push(await once(e, pkg, lr));
  }
  const hashes = new Set(Object.values(samples).flatMap((s) => s.map((x) => x.hash)));
  const calls = samples[engines[0][0]][0].calls;
  console.log(`\n## ${name}: ${calls} tile-steps per run, ${reps} interleaved runs each; outputs ${hashes.size === 1 ? 'byte-identical' : `DIFFER (${[...hashes].join(' ')})`}\n`);
  console.log('| engine | per tile-step, min | median | run, min (ms) |');
  console.log('|---|---:|---:|---:|');
  const out: Record<string, unknown> = { calls, identical: hashes.size === 1 };
  for (const [n] of engines) {
    const per = samples[n].map((s) => metric(s) / s.calls);
    console.log(`| ${n} | ${f3(min(per))} ms | ${f3(median(per))} ms | ${min(samples[n].map(metric)).toFixed(1)} |`);
    out[n] = { min: min(per), median: median(per), runs: samples[n] };
  }
  if (engines.length === 2) {
    const [a, b] = engines.map(([n]) => samples[n].map((s) => metric(s) / s.calls));
    const ratios = a.map((v, i) => v / b[i]);
    console.log(`\nratio ${engines[0][0]} / ${engines[1][0]}: pairwise median ${median(ratios).toFixed(2)}×, of minima ${(min(a) / min(b)).toFixed(2)}×`);
    out.ratio = { pairwiseMedian: median(ratios), ofMinima: min(a) / min(b) };
  }
  return out;
}

if (args.includes('--step')) {
  await stepSection();
  process.exit(0);
}

async function stepSection() {
  const { runStepChild } = await import('./gpu/step-child');
  const { softwareVulkanEnv } = await import('../src/engine/providers');
  const steps = ['js', 'device', 'device-noise'];
  const swReps = Number(arg('sw-reps', '2'));
  const tiny = join(ROOT, 'test/fixtures/models/tiny-x4');
  const tinyJob = { width: 24, height: 16, scale: 4, sampler: 'ddpm:3', fidelity: 0.5, seed: 1, batch: 2 };
  const natJob = { width: LRW, height: LRW, scale: 4, sampler: 'skipdiff', fidelity: 0.5, seed: 1, batch: BATCH };
  // warm-up of each setting, then `reps` interleaved rounds
  const jobs = (base: typeof tinyJob, reps: number) => [...steps, ...Array.from({ length: reps }, (_, r) => (r % 2 ? [...steps].reverse() : steps)).flat()].map((step) => ({ ...base, step }));
  const sw = softwareVulkanEnv();
  const t0 = performance.now();
  const loadBefore = (await import('node:os')).loadavg()[0];
  const runs: (() => Promise<{ label: string; provider: string; res: Awaited<ReturnType<typeof runStepChild>> | null; error?: string }>)[] = [];
  const child = (label: string, provider: string, modelDir: string, j: ReturnType<typeof jobs>, env?: NodeJS.ProcessEnv) => () =>
    runStepChild({ modelDir, provider, threads: THREADS, jobs: j }, { env, timeoutMs: 3_600_000 }).then(
      (res) => ({ label, provider, res }),
      (e: Error) => ({ label, provider, res: null, error: e.message }),
    );
  // One child per provider and model (a child opens one package), one after the other (so that one
  // does not slow the other down).
  runs.push(child('tiny-x4 ddpm:3, 96×64 (2 tiles), batch 2', 'cpu', tiny, jobs(tinyJob, REPS)));
  if (haveNatural) runs.push(child(`natural-x4 skipdiff 0.5, ${LRW}² → ${LRW * 4}², batch ${natJob.batch}`, 'cpu', naturalDir, jobs(natJob, Math.max(2, Math.ceil(REPS / 2)))));
  if (sw) runs.push(child('tiny-x4 ddpm:3, 96×64 (2 tiles), batch 2', 'webgpu', tiny, jobs(tinyJob, swReps), sw));
  else console.log('no SwiftShader (apt-get install chromium): webgpu rows skipped');
  const done = [];
  for (const r of runs) done.push(await r());
  const results: Record<string, unknown>[] = [];
  console.log(`# Fused step vs JS step: time outside onnxruntime — ${new Date().toISOString()}`);
  console.log(`\nonnxruntime threads ${THREADS}; load average ${loadBefore.toFixed(1)} before, ${(await import('node:os')).loadavg()[0].toFixed(1)} after; ${((performance.now() - t0) / 1000).toFixed(0)} s wall. "webgpu" is SwiftShader (software Vulkan on these CPU cores), not a GPU.`);
  console.log('\n| job | provider | step | timed runs | wall (median) | in onnxruntime | policy | outside | outside share | outside per tile-step | output vs js |');
  console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const d of done) {
    if (!d.res) {
      console.log(`| ${d.label} | ${d.provider} | — | FAILED: ${d.error?.slice(0, 200).replace(/\|/g, '/')} |`);
      continue;
    }
    const errs = d.res.filter((r) => r.error);
    for (const e of errs) console.log(`| ${d.label} | ${d.provider} | ${e.job.step} | FAILED: ${e.error} |`);
    const jsHash = d.res.find((r) => r.step === 'js')?.sha256;
    for (const step of steps) {
      const all = d.res.filter((r) => r.job.step === step && !r.error);
      const timed = all.slice(1); // the first of each setting is its warm-up (sessions, shaders)
      if (!timed.length) continue;
      const wall = median(timed.map((r) => r.first.wallMs));
      const onnx = median(timed.map((r) => r.first.msOnnx));
      const pol = median(timed.map((r) => r.first.msPolicy));
      const out = timed.map((r) => r.first.wallMs - r.first.msOnnx - r.first.msPolicy);
      const outside = median(out);
      const share = median(timed.map((r) => (r.first.wallMs - r.first.msOnnx - r.first.msPolicy) / r.first.wallMs));
      const calls = timed[0].calls;
      const hashes = new Set(all.map((r) => r.sha256));
      const vs = step === 'js' ? 'reference' : all[0].sha256 === jsHash ? 'identical' : step === 'device' ? 'float rounding (see tests)' : 'other noise';
      console.log(`| ${d.label} | ${d.provider} | ${step} | ${timed.length} | ${wall.toFixed(0)} ms | ${onnx.toFixed(0)} ms | ${pol.toFixed(0)} ms | ${outside.toFixed(1)} ms | ${(share * 100).toFixed(1)} % | ${(outside / calls).toFixed(3)} ms | ${vs}${hashes.size > 1 ? ' (NOT deterministic)' : ''} |`);
      results.push({ job: d.label, provider: d.provider, step, calls, runs: timed.map((r) => r.first), wall, onnx, policy: pol, outside, share, deterministic: hashes.size === 1 });
    }
  }
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), threads: THREADS, results }, null, 2));
}

const base = await baselineEngine(BASELINE);
const only = arg('only', ''); // 'baseline' | 'current': one engine (e.g. under node --cpu-prof)
const engines: [string, Engine][] = [
  ...(only === 'current' ? [] : ([[`baseline ${BASELINE}`, base]] as [string, Engine][])),
  ...(only === 'baseline' ? [] : ([['this checkout', current]] as [string, Engine][])),
];
const lr = lrImage(LRW);
const results: Record<string, unknown> = { date: new Date().toISOString(), baseline: BASELINE, lr: LRW, batch: BATCH, card: card().id };
console.log(`# Engine overhead per tile-step — ${card().id} card (${card().tile.size}² tiles), ${LRW}² → ${LRW * 4}² ×4, skipdiff knob 0.5, batch ${BATCH}`);

results.alone = await compare('1. engine alone (null denoiser and policy), CPU time of the process', nullPackage(), engines, lr, (s) => s.cpu, REPS);
if (real) {
  if (!haveNatural) console.log('\n--real: models/natural-x4 is missing: skipped');
  else {
    const pkg = await current.loadModel(naturalDir, { threads: THREADS });
    results.real = await compare(`2. real natural-x4 (onnxruntime CPU, ${THREADS} threads): wall − onnxruntime − policy`, pkg, engines, lr, (s) => s.wall - s.onnx - s.policy, Math.max(3, Math.ceil(REPS / 2)));
  }
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
