/**
 * `daguerre doctor [--json] [--model <id|dir>] [--runs <n>] [--size <px>] [--software-vulkan]`
 *
 * What this machine can run the denoiser on: platform, CPU cores, onnxruntime version, the execution
 * providers its onnxruntime build offers (and why the others are not), the Vulkan driver WebGPU would use
 * (Linux), and for each offered provider the self-test against the CPU and the time of one 128² denoiser
 * step (median of a few after a warm-up), then what `auto` would pick and why, and which denoiser precision
 * (fp32, or the package's int8 denoiser on the cpu) the `auto` precision setting would run there.
 *
 * Each provider is probed in its own child process (src/engine/providers/child.ts), so a GPU driver that
 * crashes is reported instead of taking doctor down. `--software-vulkan` starts those children on
 * Chromium's SwiftShader (Linux, `chromium` installed): the WebGPU code path without a GPU, slowly.
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultModelDirs } from '../../main/core';
import type { ProviderChoice, ProviderName, ProviderOffer, SelfTestResult, StepTiming } from '../../engine/providers';
import type { PrecisionChoice } from '../../engine/catalogue';

export interface DoctorOpts {
  json?: boolean;
  model?: string;
  runs?: string;
  size?: string;
  softwareVulkan?: boolean;
}

export interface DoctorProviderResult {
  provider: ProviderName;
  selfTest: SelfTestResult | null;
  step: StepTiming | null;
  error?: string;
}

export interface DoctorReport {
  platform: string;
  arch: string;
  os: string;
  node: string;
  cpu: { cores: number; model: string };
  onnxruntime: { version: string; binaries: string | null };
  providers: ProviderOffer[];
  offered: ProviderName[];
  vulkan: { loader: string | null; icds: string[]; icdFromEnv: boolean } | null;
  softwareVulkan: boolean;
  model: { id: string; dir: string; tile: number; note: string } | null;
  stepSize: number;
  results: DoctorProviderResult[];
  auto: { provider: ProviderName; reason: string } | null;
  /** What the 'auto' precision setting runs for the model on auto's provider (the cpu when auto could not decide); from the card, no session. */
  precision: PrecisionChoice | null;
  problems: string[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.resolve(here, '../../../test/fixtures/models/tiny-x4');

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('what this machine runs the denoiser on: onnxruntime, execution providers, self-tests and step times, what auto picks')
    .option('--json', 'print JSON on stdout')
    .option('--model <id|dir>', 'model package to test with (default: the first installed one, else the tiny test fixture)')
    .option('--runs <n>', 'timed runs per provider after a warm-up (median reported)', '3')
    .option('--size <px>', 'square input size of the timed step', '128')
    .option('--software-vulkan', "Linux: probe on Chromium's SwiftShader software Vulkan (tests the WebGPU path without a GPU; slow)")
    .action(async (o: DoctorOpts, cmd: Command) => {
      try {
        const report = await runDoctor(o, (line) => {
          if (!o.json) process.stderr.write(line + '\n');
        });
        process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatDoctor(report));
        const code = report.problems.some((p) => p.startsWith('error:')) ? 1 : 0;
        cmd.parent?.setOptionValue('exitCode', code);
        if (code) process.exitCode = code;
      } catch (e) {
        process.stderr.write(`daguerre doctor: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
        cmd.parent?.setOptionValue('exitCode', 1);
        process.exitCode = 1;
      }
    });
}

async function resolveModel(spec: string | undefined): Promise<{ id: string; dir: string; note: string } | null> {
  const { listPackages, readCard } = await import('../../engine/catalogue');
  if (spec && fs.existsSync(path.join(spec, 'card.json'))) {
    const card = readCard(spec);
    return { id: card.id, dir: path.resolve(spec), note: card.trainedOn === 'random' ? 'random weights (test model)' : 'given folder' };
  }
  const list = listPackages(defaultModelDirs());
  if (spec) {
    const hit = list.find((m) => m.id === spec);
    if (!hit) throw new Error(`no model package "${spec}" (found: ${list.map((m) => m.id).join(', ') || 'none'}); pass an id or a folder with card.json`);
    if (!hit.ok) throw new Error(hit.error ?? `model "${spec}" is broken`);
    return { id: hit.id, dir: hit.dir, note: 'installed' };
  }
  const first = list.find((m) => m.ok);
  if (first) return { id: first.id, dir: first.dir, note: 'installed (first found)' };
  if (fs.existsSync(path.join(FIXTURE, 'card.json'))) return { id: 'tiny-x4', dir: FIXTURE, note: 'no model installed: the tiny test fixture (random weights; times are for a 155 k-parameter net)' };
  return null;
}

export async function runDoctor(o: DoctorOpts, log: (line: string) => void = () => {}): Promise<DoctorReport> {
  const prov = await import('../../engine/providers');
  const { runIsolated } = await import('../../engine/providers/isolated');
  const runs = Math.max(1, Number.parseInt(o.runs ?? '3', 10) || 3);
  const size = Math.max(8, Number.parseInt(o.size ?? '128', 10) || 128);
  const problems: string[] = [];

  let env: NodeJS.ProcessEnv = process.env;
  if (o.softwareVulkan) {
    const sw = prov.softwareVulkanEnv();
    if (!sw) throw new Error(`--software-vulkan needs ${prov.SWIFTSHADER_ICD} (Linux, apt-get install chromium)`);
    env = sw;
  } else if (process.env.VK_ICD_FILENAMES && !process.env.VK_ICD_FILENAMES.includes(path.delimiter)) {
    // A driver chosen by hand: also find a loader shipped next to it (Chromium's) and a runtime dir.
    env = prov.softwareVulkanEnv(process.env, process.env.VK_ICD_FILENAMES) ?? process.env;
  }

  // What the child processes (the environment the engine host would have) see.
  type Info = { platform: string; arch: string; ort: string; offers: ProviderOffer[]; available: ProviderName[]; vulkan: DoctorReport['vulkan'] };
  const info = await runIsolated<Info>({ op: 'info' }, { env, timeoutMs: 60_000 });
  const cpus = os.cpus();
  const report: DoctorReport = {
    platform: info.platform,
    arch: info.arch,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    cpu: { cores: os.availableParallelism?.() ?? cpus.length, model: cpus[0]?.model?.trim() ?? 'unknown' },
    onnxruntime: { version: info.ort, binaries: prov.ortBinaryDir() },
    providers: info.offers,
    offered: info.available,
    vulkan: info.vulkan,
    softwareVulkan: !!o.softwareVulkan,
    model: null,
    stepSize: size,
    results: [],
    auto: null,
    precision: null,
    problems,
  };
  if (info.platform === 'linux' && info.available.includes('webgpu') && info.vulkan) {
    if (!info.vulkan.loader) problems.push('webgpu: no Vulkan loader (libvulkan.so.1): install libvulkan1 (Debian/Ubuntu) or your distribution\'s Vulkan loader');
    if (!info.vulkan.icds.length) problems.push('webgpu: no Vulkan driver (ICD) registered: install the GPU vendor\'s Vulkan driver (NVIDIA: the driver\'s nvidia_icd.json; Mesa: mesa-vulkan-drivers)');
  }

  const model = await resolveModel(o.model);
  if (!model) {
    problems.push('error: no model package found and no test fixture; pass --model <dir>');
    return report;
  }
  const { readCard, resolvePrecision } = await import('../../engine/catalogue');
  const card = readCard(model.dir);
  report.model = { ...model, tile: card.tile.size };

  const selfTests: Partial<Record<ProviderName, SelfTestResult>> = {};
  // cpu first (the reference), then the GPU providers in auto order.
  const order: ProviderName[] = ['cpu', ...info.available.filter((p) => p !== 'cpu')];
  for (const p of order) {
    log(`doctor: probing ${p}${p === 'webgpu' && o.softwareVulkan ? ' on SwiftShader (slow)' : ''} …`);
    const r: DoctorProviderResult = { provider: p, selfTest: null, step: null };
    try {
      type Item<T> = { ok: true; result: T } | { ok: false; error: string };
      const [st, tm] = await runIsolated<[Item<SelfTestResult>, Item<StepTiming[]>]>(
        {
          op: 'batch',
          requests: [
            { op: 'selfTest', provider: p, modelDir: model.dir },
            { op: 'time', provider: p, modelDir: model.dir, sizes: [size], batches: [1], runs },
          ],
        },
        { env, timeoutMs: 600_000 },
      );
      if (st.ok) r.selfTest = st.result;
      else r.error = st.error;
      // A provider that failed to start cannot be timed; keep that error, not the timing's.
      if (tm.ok) r.step = tm.result[0];
      else if (!r.error && r.selfTest?.ok !== false) r.error = `timing failed: ${prov.shortError(tm.error)}`;
    } catch (e) {
      const ie = e as Error & { stderr?: string };
      const tail = (ie.stderr ?? '').trim().split('\n').slice(-1)[0];
      r.error = `probe process failed: ${ie.message}${tail ? ` (${prov.shortError(tail)})` : ''}`;
    }
    if (p === 'cpu' && (r.error || !r.selfTest)) problems.push(`error: the cpu cannot run ${model.id}: ${r.error ?? 'no result'}`);
    selfTests[p] = r.selfTest ?? { provider: p, ok: false, maxAbsDiff: NaN, tolerance: prov.DEFAULT_TOLERANCE, ms: NaN, firstMs: NaN, cpuMs: NaN, loadMs: NaN, tile: report.model.tile, error: r.error ?? 'no result' };
    report.results.push(r);
  }
  if (!problems.some((p) => p.startsWith('error:'))) {
    const c: ProviderChoice = await prov.selectProvider('auto', model.dir, { selfTests, offered: info.available, threads: 1 });
    report.auto = { provider: c.provider, reason: c.reason };
  }
  report.precision = resolvePrecision('auto', card, report.auto?.provider ?? 'cpu');
  return report;
}

const ms = (v: number | undefined | null) => (v == null || !Number.isFinite(v) ? '—' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 2 : 1)} ms`);

export function formatDoctor(r: DoctorReport): string {
  const L: string[] = [];
  const kv = (k: string, v: string) => L.push(`${k.padEnd(13)}${v}`);
  kv('platform', `${r.platform} ${r.arch} (${r.os}), Node ${r.node}`);
  kv('CPU', `${r.cpu.cores} cores, ${r.cpu.model}`);
  kv('onnxruntime', `${r.onnxruntime.version} (onnxruntime-node)${r.onnxruntime.binaries ? `, ${r.onnxruntime.binaries}` : ''}`);
  kv('offered', r.offered.join(', '));
  for (const o of r.providers.filter((p) => !p.offered)) kv('', `not ${o.name}: ${o.note}`);
  if (r.vulkan) kv('Vulkan', `loader ${r.vulkan.loader ?? 'NOT FOUND'}; ICD ${r.vulkan.icds.join(', ') || 'none'}${r.vulkan.icdFromEnv ? ' (VK_ICD_FILENAMES)' : ''}${r.softwareVulkan ? ' — SwiftShader software rendering' : ''}`);
  if (r.model) kv('model', `${r.model.id} (tile ${r.model.tile}) ${r.model.dir} — ${r.model.note}`);
  if (r.results.length) {
    L.push('');
    L.push(`${'provider'.padEnd(10)}${'self-test vs cpu'.padEnd(28)}${`${r.stepSize}² step (median)`.padEnd(22)}${'first call'.padEnd(12)}`);
    for (const x of r.results) {
      const st = x.selfTest;
      const test = x.provider === 'cpu' ? (st ? 'reference' : 'FAILED') : st ? (st.ok ? `ok, max |Δ| ${st.maxAbsDiff.toExponential(1)}` : 'FAILED') : 'FAILED';
      L.push(`${x.provider.padEnd(10)}${test.padEnd(28)}${ms(x.step?.medianMs).padEnd(22)}${ms(x.step?.firstMs).padEnd(12)}`);
      const why = st && !st.ok ? st.error : x.error;
      if (why) L.push(`${''.padEnd(10)}${why}`);
    }
  }
  if (r.auto) {
    L.push('');
    kv('auto picks', `${r.auto.provider} — ${r.auto.reason}`);
  }
  if (r.precision) kv('precision', `${r.precision.precision} — ${r.precision.reason}`);
  for (const p of r.problems) kv('note', p);
  return L.join('\n') + '\n';
}
