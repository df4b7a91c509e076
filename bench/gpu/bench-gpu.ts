/**
 * GPU benchmark (never a test): CPU vs WebGPU (and any other provider named) side by side in one run.
 *
 *   npx tsx bench/gpu/bench-gpu.ts --out <dir> [--providers webgpu,cpu] [--natural <model dir>] [--face <model dir>]
 *        [--sizes 128,256,512] [--batches 1,4,8,16] [--runs 3] [--budget-ms 10000] [--enlarge 512]
 *        [--software-vulkan] [--quick] [--threads n] [--timeout-s 300] [--sampler s --fidelity f] [--calls 20]
 *        [--jobs steps,face,enlarge,fused] [--fused-steps js,device,device-noise] [--fused-cpu-steps js] [--fused-warm 64]
 *
 * On a GPU machine without Node, bench/gpu/run-on-gpu.sh runs the bundled copy of this file.
 *
 * Sections (each provider in its own child process — src/engine/providers/child.ts — so a driver
 * crash costs one row, and a provider's environment is its own):
 *   1. setup: what the child sees (onnxruntime, providers, Vulkan loader/ICD) and the self-test vs CPU
 *   2. per-step time: one denoiser call at each tile size × batch (warm-up, then median of ≤ runs within
 *      a time budget), ms per call and ms per tile
 *   3. face: 16×16 → 128×128 with the face model (×8) at ≈20 denoiser calls per tile
 *   4. enlargement: <enlarge>² → (4·<enlarge>)² with the natural model (×4), same sampler
 *   Sections 3–4 compare each provider's 8-bit output with the CPU's (max / mean level difference,
 *   identical or not). They run with the engine's default step ('auto': the fused step on a GPU).
 *   5. fused step (`--jobs fused`): the same enlargement with each `step` setting (src/engine/diffusion/
 *      step.ts; GPU: --fused-steps, CPU: --fused-cpu-steps), one child per provider (bench/gpu/step-child.ts):
 *      every setting first warmed up twice at <fused-warm>² (sessions, shaders for the full and the last
 *      partial batch; the two warm-ups must give the same bytes), then one timed enlargement each: wall,
 *      time in onnxruntime and the policy, the engine's share outside them, output vs the CPU's js output.
 * Results: <out>/gpu-bench.json, <out>/gpu-bench.md (also printed).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStepChild, type StepJob, type StepJobResult } from './step-child';
import { BATCH_LIMITS, batchFor, estimateCallsFor, softwareVulkanEnv, type ProviderName, type SelfTestResult, type StepTiming } from './bench-lib';
import { runIsolated, type DiffuseResult } from '../../src/engine/providers/isolated';

type Item<T> = { ok: true; result: T } | { ok: false; error: string };

const argv = process.argv.slice(2);
const arg = (name: string, def?: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
};
const flag = (name: string) => argv.includes(`--${name}`);
const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

const here = resolve(fileURLToPath(import.meta.url), '..');
/** Model folders: an explicit one, else the first matching package under these roots. */
const MODEL_ROOTS = [resolve(here, 'models'), resolve(here, '../../models'), resolve(here, '../../test/fixtures/models')];

function findModel(explicit: string | undefined, task: 'natural' | 'face'): string | null {
  if (explicit) return resolve(explicit);
  for (const root of MODEL_ROOTS) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const card = join(root, name, 'card.json');
      if (!existsSync(card)) continue;
      try {
        const c = JSON.parse(readFileSync(card, 'utf8')) as { task?: string; trainedOn?: string };
        if (c.task === task) return join(root, name);
      } catch {
        /* not a package */
      }
    }
  }
  return null;
}

const quick = flag('quick');
const out = resolve(arg('out', process.env.OUT ?? 'bench/results/gpu')!);
const providers = list(arg('providers', 'webgpu,cpu')) as ProviderName[];
const sizes = list(arg('sizes', quick ? '64,128' : '128,256,512')).map(Number);
const batches = list(arg('batches', quick ? '1,4' : '1,4,8,16')).map(Number);
const runs = Number(arg('runs', quick ? '2' : '3'));
const budgetMs = Number(arg('budget-ms', quick ? '8000' : '10000'));
const enlarge = Number(arg('enlarge', quick ? '24' : '512'));
const threads = Number(arg('threads', String(availableParallelism())));
const timeoutMs = Number(arg('timeout-s', '300')) * 1000;
const natural = findModel(arg('natural'), 'natural');
const targetCalls = Number(arg('calls', '20'));
const samplerArg = arg('sampler');
const fidelityArg = Number(arg('fidelity', '0.5'));
const jobsWanted = new Set(list(arg('jobs', 'steps,face,enlarge')));
const face = findModel(arg('face'), 'face');

/** A software Vulkan driver (SwiftShader, lavapipe): label the numbers so nobody reads them as GPU speed. */
const software = flag('software-vulkan') || /swiftshader|lvp_icd|lavapipe/i.test(process.env.VK_ICD_FILENAMES ?? '');
let gpuEnv: NodeJS.ProcessEnv = process.env;
if (flag('software-vulkan')) {
  const sw = softwareVulkanEnv();
  if (!sw) throw new Error('--software-vulkan: no SwiftShader (apt-get install chromium)');
  gpuEnv = sw;
}
const envFor = (p: ProviderName) => (p === 'cpu' ? process.env : gpuEnv);

mkdirSync(out, { recursive: true });
const md: string[] = [];
const log = (s = '') => {
  md.push(s);
  process.stdout.write(s + '\n');
};
const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 2 : 1)} ms`);
const results: Record<string, unknown> = {
  started: new Date().toISOString(),
  args: argv,
  host: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version, threads },
  softwareVulkan: software,
  models: { natural, face },
};

/** Batches up to twice the engine's memory bound for the provider (the engine itself never goes above it). */
const fits = (p: ProviderName, size: number, batch: number) => batch === 1 || batch * size * size <= BATCH_LIMITS[p].maxPixels * 2;

async function iso<T>(p: ProviderName, req: Parameters<typeof runIsolated>[0], t = timeoutMs): Promise<Item<T>> {
  try {
    return { ok: true, result: await runIsolated<T>(req, { env: envFor(p), timeoutMs: t }) };
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const tail = (err.stderr ?? '').trim().split('\n').slice(-2).join(' | ');
    return { ok: false, error: `${err.message}${tail ? ` [stderr: ${tail.slice(0, 300)}]` : ''}` };
  }
}

function compare(a: Uint8Array, b: Uint8Array) {
  if (a.length !== b.length) return { identical: false, maxLevels: NaN, meanLevels: NaN };
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > max) max = d;
    sum += d;
  }
  return { identical: max === 0, maxLevels: max, meanLevels: sum / a.length };
}

async function main() {
  log(`# GPU bench — ${new Date().toISOString()}`);
  log();
  log(`host: ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} cores, Node ${process.version}, onnxruntime threads ${threads}${software ? ' — **WebGPU on SwiftShader (software Vulkan on the CPU), not a GPU**' : ''}`);
  log(`models: natural ${natural ?? 'none'}; face ${face ?? 'none'}`);
  if (!natural) throw new Error('no natural model package found (pass --natural <dir>)');

  // 1. setup + self-test
  log();
  log('## 1. Setup and self-test (vs CPU, one step at the card tile)');
  log();
  log('| provider | offered | Vulkan loader | ICD | self-test | max abs diff | step (self-test tile) | first call | note |');
  log('|---|---|---|---|---|---|---|---|---|');
  const setup: Record<string, unknown> = {};
  const usable: ProviderName[] = [];
  for (const p of providers) {
    const r = await iso<[Item<{ available: string[]; vulkan: { loader: string | null; icds: string[] } | null; ort: string }>, Item<SelfTestResult>]>(p, {
      op: 'batch',
      requests: [{ op: 'info' }, { op: 'selfTest', provider: p, modelDir: natural, threads }],
    });
    setup[p] = r;
    if (!r.ok) {
      log(`| ${p} | ? | ? | ? | CRASHED | — | — | — | ${r.error.replace(/\|/g, '/')} |`);
      continue;
    }
    const [info, st] = r.result;
    const inf = info.ok ? info.result : null;
    const s = st.ok ? st.result : null;
    if (s?.ok) usable.push(p);
    log(
      `| ${p} | ${inf?.available.includes(p) ? 'yes' : 'no'} | ${inf?.vulkan?.loader ?? '—'} | ${inf?.vulkan?.icds.join(' ') || '—'} | ${s ? (s.ok ? 'ok' : 'FAILED') : 'error'} | ${s ? s.maxAbsDiff.toExponential(1) : '—'} | ${ms(s?.ms)} | ${ms(s?.firstMs)} | ${(s?.error ?? (st.ok ? '' : st.error)).replace(/\|/g, '/')} |`,
    );
  }
  results.setup = setup;
  if (!usable.length) throw new Error('no provider passed its self-test');

  // 2. per-step time
  if (jobsWanted.has('steps')) {
  log();
  log(`## 2. One denoiser step: tile size × batch (warm-up, then median of ≤ ${runs} within ${budgetMs / 1000} s)`);
  log();
  log(`| tile | batch | ${usable.map((p) => `${p} ms/call | ${p} ms/tile`).join(' | ')} |${usable.length > 1 ? ` speed-up of ${usable[0]} over ${usable[usable.length - 1]} |` : ''}`);
  log(`|---|---|${usable.map(() => '---|---|').join('')}${usable.length > 1 ? '---|' : ''}`);
  const steps: Record<string, Item<StepTiming[]>> = {};
  for (const p of usable) {
    // Batches above the provider's memory bound are skipped (the engine would never use them).
    const pairs = sizes.flatMap((s) => batches.filter((b) => fits(p, s, b)).map((b) => [s, b] as [number, number]));
    steps[p] = await iso<StepTiming[]>(p, { op: 'time', provider: p, modelDir: natural, pairs, runs, budgetMs, threads }, Math.max(timeoutMs, 600_000));
  }
  results.steps = steps;
  for (const s of sizes)
    for (const b of batches) {
      const cells = usable.map((p) => {
        const r = steps[p];
        const t = r.ok ? r.result.find((x) => x.size === s && x.batch === b) : undefined;
        return t && fits(p, s, b) ? t : undefined;
      });
      if (cells.every((c) => !c)) continue;
      const ratio = usable.length > 1 && cells[0] && cells[cells.length - 1] ? `${Number((cells[cells.length - 1]!.medianMs / cells[0]!.medianMs).toPrecision(2))}× |` : usable.length > 1 ? '— |' : '';
      log(`| ${s}² | ${b} | ${cells.map((c) => `${ms(c?.medianMs)} | ${ms(c ? c.medianMs / b : undefined)}`).join(' | ')} |${ratio ? ` ${ratio}` : ''}`);
    }
  for (const p of usable) if (!steps[p].ok) log(`\n${p}: step timing failed: ${(steps[p] as { error: string }).error}`);
  }

  // 3–4. whole restorations
  const tmp = mkdtempSync(join(tmpdir(), 'gpu-bench-'));
  const restores: Record<string, Record<string, Item<DiffuseResult>>> = {};
  const jobs: { name: string; model: string | null; width: number; height: number; scale: number }[] = [
    ...(jobsWanted.has('face') ? [{ name: `face 16→128 (×8)`, model: face, width: 16, height: 16, scale: 8 }] : []),
    ...(jobsWanted.has('enlarge') ? [{ name: `enlarge ${enlarge}→${enlarge * 4} (×4)`, model: natural, width: enlarge, height: enlarge, scale: 4 }] : []),
  ];
  let section = 3;
  for (const j of jobs) {
    log();
    log(`## ${section++}. ${j.name}`);
    log();
    if (!j.model) {
      log('no model package for this task: skipped');
      continue;
    }
    const { sampler, fidelity, calls } = samplerArg ? { sampler: samplerArg, fidelity: fidelityArg, calls: estimateCallsFor(j.model, 0, samplerArg, fidelityArg).calls } : estimateCallsFor(j.model, targetCalls);
    log(`sampler ${sampler}, fidelity ${fidelity} → ${calls} denoiser calls per tile; seed 1`);
    log();
    log('| provider | batch | tiles | calls | onnx runs | first run | median run | in onnxruntime | output vs cpu |');
    log('|---|---|---|---|---|---|---|---|---|');
    const per: Record<string, Item<DiffuseResult>> = {};
    const raws: Record<string, string> = {};
    // CPU last so the GPU rows exist even if the CPU runs out of time on a big enlargement.
    const order = [...usable.filter((p) => p !== 'cpu'), ...usable.filter((p) => p === 'cpu')];
    for (const p of order) {
      raws[p] = join(tmp, `${section}-${p}.raw`);
      per[p] = await iso<DiffuseResult>(p, {
        op: 'diffuse',
        provider: p,
        modelDir: j.model,
        threads,
        diffuse: { width: j.width, height: j.height, scale: j.scale, sampler, fidelity, seed: 1, runs: j.width * j.height * j.scale ** 2 > 1e6 ? 0 : runs, rawOut: raws[p] },
      }, Math.max(timeoutMs, 600_000));
    }
    const cpuRaw = per.cpu?.ok && existsSync(raws.cpu) ? readFileSync(raws.cpu) : null;
    for (const p of order) {
      const r = per[p];
      if (!r.ok) {
        log(`| ${p} | — | — | — | — | — | — | — | FAILED: ${r.error.replace(/\|/g, '/')} |`);
        continue;
      }
      const x = r.result;
      let vs = p === 'cpu' ? 'reference' : '—';
      if (p !== 'cpu' && cpuRaw && existsSync(raws[p])) {
        const c = compare(readFileSync(raws[p]), cpuRaw);
        vs = c.identical ? 'identical' : `max ${c.maxLevels}, mean ${c.meanLevels.toFixed(4)} levels`;
        (x as DiffuseResult & { vsCpu?: unknown }).vsCpu = c;
      }
      log(`| ${p} | ${x.batch} | ${x.tiles} | ${x.calls} | ${x.onnxRuns} | ${ms(x.firstMs)} | ${x.runs.length ? ms(x.medianMs) : '(first only)'} | ${ms(x.msOnnx)} | ${vs} |`);
    }
    restores[j.name] = per;
  }
  results.restores = restores;

  if (jobsWanted.has('fused')) {
    log();
    log(`## ${section++}. Fused step: enlarge ${enlarge}→${enlarge * 4} (×4) with each step setting`);
    log();
    const { sampler, fidelity, calls } = samplerArg ? { sampler: samplerArg, fidelity: fidelityArg, calls: estimateCallsFor(natural, 0, samplerArg, fidelityArg).calls } : estimateCallsFor(natural, targetCalls);
    const warm = Number(arg('fused-warm', quick ? String(enlarge) : '64'));
    log(`sampler ${sampler}, fidelity ${fidelity} → ${calls} denoiser calls per tile; seed 1; each setting warmed up twice at ${warm}→${warm * 4} first`);
    log('target (issue 19): 512 → 2048 ≤ 8 s on an H100/H200 with WebGPU, the engine\'s work outside onnxruntime < 10 % of the wall time');
    log();
    log('| provider | step | batch | tiles | calls | onnx runs | wall | in onnxruntime | policy | outside | outside share | warm-ups same bytes | 8-bit output vs the cpu |');
    log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    const tileSize = JSON.parse(readFileSync(join(natural, 'card.json'), 'utf8')).tile.size as number;
    const order = [...usable.filter((p) => p !== 'cpu'), ...usable.filter((p) => p === 'cpu')];
    const fused: Record<string, StepJobResult[] | { error: string }> = {};
    const cpuOut: Record<string, Uint8Array> = {};
    const pending: { p: string; r: StepJobResult; warmSame: boolean }[] = [];
    for (const p of order) {
      const steps = list(arg(p === 'cpu' ? 'fused-cpu-steps' : 'fused-steps', p === 'cpu' ? 'js' : 'js,device,device-noise'));
      const batch = batchFor(p, tileSize);
      const base = { scale: 4, sampler, fidelity, seed: 1, batch };
      const jobs: StepJob[] = [
        ...steps.flatMap((step) => [0, 1].map(() => ({ ...base, width: warm, height: warm, step }))),
        ...steps.map((step) => ({ ...base, width: enlarge, height: enlarge, step, u8Out: join(tmp, `fused-${p}-${step}.u8`) })),
      ];
      try {
        const res = await runStepChild({ modelDir: natural, provider: p, threads, jobs }, { env: envFor(p), timeoutMs: Math.max(timeoutMs, 600_000) });
        fused[p] = res;
        steps.forEach((step, i) => {
          // results come in job order: warm-ups 2i, 2i+1; the timed run 2·steps + i
          const w = [res[2 * i], res[2 * i + 1]];
          const big = res[2 * steps.length + i];
          pending.push({ p, r: big, warmSame: !w.some((x) => x.error) && w[0].sha256 === w[1].sha256 });
          if (p === 'cpu' && !big.error && existsSync(big.job.u8Out!)) cpuOut[step] = readFileSync(big.job.u8Out!);
        });
      } catch (e) {
        fused[p] = { error: (e as Error).message };
        log(`| ${p} | — | FAILED: ${(e as Error).message.slice(0, 300).replace(/\|/g, '/')} |`);
      }
    }
    for (const { p, r, warmSame } of pending) {
      if (r.error) {
        log(`| ${p} | ${r.job.step} | FAILED: ${r.error.replace(/\|/g, '/')} |`);
        continue;
      }
      const f = r.first;
      const outside = f.wallMs - f.msOnnx - f.msPolicy;
      // vs the CPU's JS step, and (device-noise) vs the CPU's own device-noise run when there is one
      const vsOf = (ref: Uint8Array | undefined, what: string) => {
        if (!ref || !existsSync(r.job.u8Out!)) return null;
        const c = compare(readFileSync(r.job.u8Out!), ref);
        (r as StepJobResult & { vs?: Record<string, unknown> }).vs = { ...(r as { vs?: object }).vs, [what]: c };
        return `${what}: ${c.identical ? 'identical' : `max ${c.maxLevels}, mean ${c.meanLevels.toFixed(4)} levels`}`;
      };
      const vs =
        p === 'cpu' && r.job.step === 'js'
          ? 'reference'
          : [vsOf(cpuOut.js, 'vs cpu js'), r.job.step !== 'js' && p !== 'cpu' ? vsOf(cpuOut[r.job.step], `vs cpu ${r.job.step}`) : null].filter(Boolean).join('; ') || '—';
      log(`| ${p} | ${r.step} | ${r.job.batch} | ${r.tiles} | ${r.calls} | ${r.onnxRuns} | ${ms(f.wallMs)} | ${ms(f.msOnnx)} | ${ms(f.msPolicy)} | ${ms(outside)} | ${((outside / f.wallMs) * 100).toFixed(1)} % | ${warmSame ? 'yes' : 'NO'} | ${vs} |`);
    }
    results.fused = fused;
  }
  rmSync(tmp, { recursive: true, force: true });
  results.finished = new Date().toISOString();
  writeFileSync(join(out, 'gpu-bench.json'), JSON.stringify(results, null, 2));
  writeFileSync(join(out, 'gpu-bench.md'), md.join('\n') + '\n');
  process.stdout.write(`\nwrote ${join(out, 'gpu-bench.json')} and gpu-bench.md\n`);
}

main().catch((e) => {
  log(`\nFAILED: ${e instanceof Error ? e.message : String(e)}`);
  try {
    writeFileSync(join(out, 'gpu-bench.json'), JSON.stringify({ ...results, error: String(e) }, null, 2));
    writeFileSync(join(out, 'gpu-bench.md'), md.join('\n') + '\n');
  } catch {
    /* out not writable */
  }
  process.exitCode = 1;
});
