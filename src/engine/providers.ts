/**
 * Execution providers: which onnxruntime backend runs the denoiser (DESIGN §3).
 *
 *   availableProviders()                 what this platform's onnxruntime build offers
 *   selectProvider(setting, modelDir)    the provider a restore uses: for `auto` the best offered one
 *                                        (cuda > dml > coreml > webgpu > cpu) that passes a self-test,
 *                                        for an explicit GPU setting that one if it passes, else cpu
 *   runSelfTest(provider, modelDir)      a fixed seeded input through the model on `provider` vs the
 *                                        CPU reference (max |Δ| ≤ 1e-3 by default) and its step time
 *   batchFor(provider, tile)             tiles per onnxruntime call (bounded by batch × tile area)
 *
 * The self-test opens the package through the catalogue's `session(dir, { provider: p })`, so the session that
 * passed is the very one a restore reuses (the catalogue caches per dir/threads/provider). A provider that is
 * missing, fails to start, disagrees with the CPU, times out or (for `auto` only) is slower than the
 * CPU is skipped with a one-line reason; CPU is always the last resort and never fails over.
 * Decisions are cached in memory per (model, setting, threads, tolerance).
 *
 * Tile size stays the card's on every provider (static shapes, and the same tiling gives the same
 * picture everywhere); only the batch changes. Environment variables that select a Vulkan driver
 * (VK_ICD_FILENAMES, LD_LIBRARY_PATH for the loader) are read when onnxruntime starts, so they must be
 * set before the process that loads it starts: `softwareVulkanEnv()` builds them for a child process.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { median } from './stats';
import { privateRuntimeDir } from './runtime-dir';
import { denoiserFeeds, policyFeeds as policyFeedsOf } from './diffusion/feeds';
import { Rng } from './diffusion/rng';
import type { ModelPackage } from './diffusion/models';
import { readCard, releaseSession, session } from './catalogue';
import { PROVIDER_SETTINGS, type ProviderSetting } from '../shared/types';

/** The settings (auto and each provider) are the shared list the IPC contract validates (src/shared/types.ts). */
export { PROVIDER_SETTINGS, type ProviderSetting };
export type ProviderName = Exclude<ProviderSetting, 'auto'>;
/** `auto` tries these in order; cpu is the fallback. */
export const AUTO_ORDER: readonly ProviderName[] = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'];
export const DEFAULT_TOLERANCE = 1e-3;

export function isProviderSetting(s: unknown): s is ProviderSetting {
  return typeof s === 'string' && (PROVIDER_SETTINGS as readonly string[]).includes(s);
}

/** Parse a user's setting (case-insensitive; 'directml' = dml, 'gpu' = auto). Throws with the valid names. */
export function parseProviderSetting(s: string | undefined | null): ProviderSetting {
  const v = (s ?? 'auto').trim().toLowerCase();
  const alias: Record<string, ProviderSetting> = { directml: 'dml', gpu: 'auto', '': 'auto' };
  const r = alias[v] ?? v;
  if (!isProviderSetting(r)) throw new RangeError(`unknown execution provider "${s}" (use one of ${PROVIDER_SETTINGS.join(', ')})`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// What this onnxruntime build offers

export interface ProviderOffer {
  name: ProviderName;
  offered: boolean;
  /** Why not (or where from) in one line. */
  note: string;
}

/** What each platform's onnxruntime-node package ships (used when listSupportedBackends is missing). */
const PLATFORM_BUNDLED: Record<string, ProviderName[]> = {
  linux: ['cpu', 'webgpu'],
  win32: ['cpu', 'dml', 'webgpu'],
  darwin: ['cpu', 'coreml', 'webgpu'],
};
/** Providers a platform can have at all (others are reported as "not on <platform>"). */
const PLATFORM_POSSIBLE: Record<string, ProviderName[]> = {
  linux: ['cpu', 'webgpu', 'cuda'],
  win32: ['cpu', 'dml', 'webgpu', 'cuda'],
  darwin: ['cpu', 'coreml', 'webgpu'],
};

/** The folder holding onnxruntime_binding.node (and, when installed, the CUDA EP libraries). */
export function ortBinaryDir(): string | null {
  try {
    const req = createRequire(import.meta.url);
    const pkg = dirname(req.resolve('onnxruntime-node/package.json'));
    const bin = join(pkg, 'bin');
    const napi = existsSync(bin) ? readdirSync(bin).find((d) => d.startsWith('napi-')) : undefined;
    const dir = napi ? join(bin, napi, process.platform, process.arch) : null;
    return dir && existsSync(dir) ? dir : null;
  } catch {
    return null;
  }
}

export function ortVersion(): string {
  const v = (ort.env as { versions?: { node?: string; common?: string } }).versions;
  return v?.node ?? v?.common ?? 'unknown';
}

function listBackends(): { name: string; bundled: boolean }[] | null {
  const f = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends;
  try {
    return typeof f === 'function' ? f() : null;
  } catch {
    return null;
  }
}

/** Every provider name with whether this build offers it and why (for `doctor`). */
export function providerOffers(platform: string = process.platform): ProviderOffer[] {
  const listed = platform === process.platform ? listBackends() : null;
  const possible = PLATFORM_POSSIBLE[platform] ?? ['cpu'];
  const bin = platform === process.platform ? ortBinaryDir() : null;
  const cudaLib = bin && ['libonnxruntime_providers_cuda.so', 'onnxruntime_providers_cuda.dll'].some((f) => existsSync(join(bin, f)));
  return (['cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as ProviderName[]).map((name) => {
    if (!possible.includes(name)) return { name, offered: false, note: `not available on ${platform}` };
    if (name === 'cpu') return { name, offered: true, note: 'always' };
    const entry = listed?.find((b) => b.name === name);
    if (name === 'cuda') {
      if (cudaLib) return { name, offered: true, note: 'CUDA EP libraries installed next to onnxruntime' };
      return { name, offered: false, note: 'not bundled with onnxruntime-node (install with ONNXRUNTIME_NODE_INSTALL=cuda12 and a CUDA 12 runtime)' };
    }
    if (listed) return entry?.bundled ? { name, offered: true, note: 'bundled' } : { name, offered: false, note: entry ? 'not bundled in this build' : 'not in this onnxruntime build' };
    const b = PLATFORM_BUNDLED[platform]?.includes(name);
    return { name, offered: !!b, note: b ? 'bundled (by platform)' : 'not in this onnxruntime build' };
  });
}

/** Providers this platform's onnxruntime build offers, in `auto` order (cpu last). */
export function availableProviders(platform: string = process.platform): ProviderName[] {
  const offered = new Set(providerOffers(platform).filter((o) => o.offered).map((o) => o.name));
  return AUTO_ORDER.filter((p) => offered.has(p));
}

// ---------------------------------------------------------------------------------------------
// Batch per provider

export interface BatchLimit {
  /** Tiles per call at most. */
  maxBatch: number;
  /** batch × tile² at most (memory bound: activations scale with it). */
  maxPixels: number;
}

/** CPU keeps the engine's default (4 tiles of ≤128²); GPUs take more tiles per call. */
export const BATCH_LIMITS: Record<ProviderName, BatchLimit> = {
  cpu: { maxBatch: 4, maxPixels: 4 * 128 * 128 },
  webgpu: { maxBatch: 8, maxPixels: 8 * 256 * 256 },
  dml: { maxBatch: 8, maxPixels: 8 * 256 * 256 },
  coreml: { maxBatch: 4, maxPixels: 4 * 256 * 256 },
  cuda: { maxBatch: 16, maxPixels: 16 * 256 * 256 },
};

/** Tiles per onnxruntime call for `provider` at `tile`×`tile` (≥ 1). */
export function batchFor(provider: ProviderName, tile: number, limits: Record<ProviderName, BatchLimit> = BATCH_LIMITS): number {
  const l = limits[provider] ?? BATCH_LIMITS.cpu;
  return Math.max(1, Math.min(l.maxBatch, Math.floor(l.maxPixels / (tile * tile))));
}

// ---------------------------------------------------------------------------------------------
// Self-test

export interface SelfTestResult {
  provider: ProviderName;
  ok: boolean;
  /** Largest |provider − cpu| over the denoiser output (and policy outputs, when the package has one). */
  maxAbsDiff: number;
  tolerance: number;
  /** One warm denoiser step (batch 1, the card's tile) on the provider, ms. */
  ms: number;
  /** The first step (includes shader compilation / graph capture), ms. */
  firstMs: number;
  /** The same warm step on the CPU, ms (for `auto`'s "slower than the CPU" rule). */
  cpuMs: number;
  /** Session creation, ms. */
  loadMs: number;
  tile: number;
  /** Set when !ok: one line. */
  error?: string;
}

export interface SelfTestOptions {
  threads?: number;
  /** Largest |Δ| accepted (default 1e-3). */
  tolerance?: number;
  /** Tests: added to the CPU reference, to simulate a provider that disagrees. */
  perturbReference?: number;
  /** Give up after this long (default 180 s). */
  timeoutMs?: number;
}

interface Probe {
  feeds: Record<string, ort.Tensor>;
  policyFeeds: Record<string, ort.Tensor> | null;
}

function probeInputs(pkg: ModelPackage): Probe {
  const card = pkg.card;
  const T = card.tile.size;
  const n = 3 * T * T;
  const rng = new Rng(20240521, 7);
  const x = rng.fillNormal(new Float32Array(n));
  const c = new Float32Array(n);
  for (let i = 0; i < n; i++) c[i] = rng.uniform() * 2 - 1;
  const feeds = denoiserFeeds(card.io.denoiser, x, c, new Float32Array([0.6]), 1, T, T);
  let policyFeeds: Record<string, ort.Tensor> | null = null;
  const io = card.io.policy;
  if (pkg.policy && io) {
    const S = io.imageSize;
    const px = new Float32Array(3 * S * S);
    for (let i = 0; i < px.length; i++) px[i] = rng.uniform() * 2 - 1;
    const t = Float32Array.from([0.3, 0.5, 0.1]);
    const h = new Float32Array(io.hidden);
    for (let i = 0; i < h.length; i++) h[i] = (rng.uniform() * 2 - 1) * 0.5;
    policyFeeds = policyFeedsOf(io, px, t, h, 1);
  }
  return { feeds, policyFeeds };
}

interface ProbeOutputs {
  eps: Float32Array;
  policy: Float32Array[];
  firstMs: number;
  ms: number;
}

async function runProbe(pkg: ModelPackage, probe: Probe): Promise<ProbeOutputs> {
  const outName = pkg.card.io.denoiser.outputs[0];
  let t = performance.now();
  const r1 = await pkg.denoiser.run(probe.feeds);
  const firstMs = performance.now() - t;
  t = performance.now();
  const r2 = await pkg.denoiser.run(probe.feeds);
  const ms = performance.now() - t;
  const eps = Float32Array.from(r2[outName].data as Float32Array);
  const e1 = r1[outName].data as Float32Array;
  // Two runs of the same input must agree with each other too (a flaky device fails here).
  for (let i = 0; i < eps.length; i++) if (!(Math.abs(eps[i] - e1[i]) <= 1e-4)) throw new Error(`two identical runs differ (|Δ| ${Math.abs(eps[i] - e1[i]).toExponential(2)} at ${i})`);
  const policy: Float32Array[] = [];
  if (pkg.policy && probe.policyFeeds && pkg.card.io.policy) {
    const pr = await pkg.policy.run(probe.policyFeeds);
    const outs = pkg.card.io.policy.outputs;
    policy.push(Float32Array.from(pr[outs[0]].data as Float32Array), Float32Array.from(pr[outs[2]].data as Float32Array));
  }
  return { eps, policy, firstMs, ms };
}

function maxAbsDiff(a: Float32Array, b: Float32Array, offset = 0): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - (b[i] + offset));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** A session error in one readable line (onnxruntime's messages start with a source path). */
export function shortError(e: unknown): string {
  let m = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
  const fals = m.lastIndexOf(' was false. ');
  if (fals >= 0) m = m.slice(fals + ' was false. '.length);
  m = m.replace(/\/onnxruntime_src\/\S+:\d+ /g, '').replace(/^model "[^"]+": cannot open [^:]+: /, '');
  return m.length > 200 ? m.slice(0, 197) + '...' : m || 'unknown error';
}

const cpuReference = new Map<string, Promise<ProbeOutputs>>();

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${what} timed out after ${Math.round(ms / 1000)} s`)), ms);
    t.unref?.();
    p.then(
      (v) => (clearTimeout(t), res(v)),
      (e) => (clearTimeout(t), rej(e)),
    );
  });
}

/**
 * Load the package on `provider` (one session, as a restore would) and compare a fixed seeded step with
 * the CPU. Never throws for provider trouble: `ok: false` with a one-line `error`. A package that failed
 * is unloaded again.
 */
export async function runSelfTest(provider: ProviderName, modelDir: string, opts: SelfTestOptions = {}): Promise<SelfTestResult> {
  const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
  const card = readCard(modelDir);
  const base: SelfTestResult = { provider, ok: false, maxAbsDiff: NaN, tolerance, ms: NaN, firstMs: NaN, cpuMs: NaN, loadMs: NaN, tile: card.tile.size };
  const refKey = `${resolve(modelDir)}|${opts.threads ?? 0}`;
  let ref = cpuReference.get(refKey);
  if (!ref) {
    ref = session(modelDir, { threads: opts.threads, provider: 'cpu' }).then((m) => runProbe(m, probeInputs(m)));
    cpuReference.set(refKey, ref);
    ref.catch(() => cpuReference.delete(refKey));
  }
  const cpu = await ref; // a CPU failure is a real error (broken package): let it throw
  base.cpuMs = cpu.ms;
  if (provider === 'cpu') return { ...base, ok: true, maxAbsDiff: 0, ms: cpu.ms, firstMs: cpu.firstMs, loadMs: 0 };
  // Dawn writes `Couldn't load Vulkan` / `vkCreateInstance failed` straight to the process's stderr
  // when it starts without a Vulkan loader or driver; say so here instead, without starting it.
  const missing = provider === 'webgpu' ? missingVulkan() : null;
  if (missing) return { ...base, error: missing };

  let pkg: ModelPackage | null = null;
  const t0 = performance.now();
  try {
    const work = (async () => {
      pkg = await session(modelDir, { threads: opts.threads, provider });
      base.loadMs = performance.now() - t0;
      return runProbe(pkg, probeInputs(pkg));
    })();
    work.catch(() => {});
    const out = await withTimeout(work, opts.timeoutMs ?? 180_000, `${provider} self-test`);
    const off = opts.perturbReference ?? 0;
    let diff = maxAbsDiff(out.eps, cpu.eps, off);
    for (let i = 0; i < cpu.policy.length; i++) diff = Math.max(diff, maxAbsDiff(out.policy[i] ?? new Float32Array(0), cpu.policy[i], off));
    const res: SelfTestResult = { ...base, maxAbsDiff: diff, ms: out.ms, firstMs: out.firstMs, ok: diff <= tolerance };
    if (!res.ok) {
      res.error = `disagrees with the CPU: max |Δ| ${Number.isFinite(diff) ? diff.toExponential(2) : String(diff)} > ${tolerance}`;
      if (pkg) await releaseSession(pkg).catch(() => {});
    }
    return res;
  } catch (e) {
    if (pkg) await releaseSession(pkg).catch(() => {});
    return { ...base, loadMs: performance.now() - t0, error: `failed to start: ${shortError(e)}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Selection

export interface ProviderAttempt {
  provider: ProviderName;
  ok: boolean;
  /** One line: why it was skipped, or that it passed. */
  reason: string;
  selfTest?: SelfTestResult;
}

export interface ProviderChoice {
  setting: ProviderSetting;
  provider: ProviderName;
  /** One line for logs and the result's info. */
  reason: string;
  /** The chosen provider's self-test (null for cpu: it is the reference). */
  selfTest: { maxAbsDiff: number; ms: number; firstMs: number; cpuMs: number; tolerance: number } | null;
  tried: ProviderAttempt[];
  /** The card's tile size and the batch for this provider. */
  tile: number;
  batch: number;
}

export interface SelectOptions extends SelfTestOptions {
  /** Override what the build offers (tests; default availableProviders()). */
  offered?: readonly ProviderName[];
  /**
   * `auto` keeps the CPU when a provider passes but is slower than the CPU by this factor (a software
   * adapter such as SwiftShader, or a weak iGPU). Default 1 (must be at least as fast); Infinity disables.
   */
  autoMinSpeedup?: number;
  /** Skip the in-memory decision cache. */
  noCache?: boolean;
  /** Self-tests already run (e.g. by `doctor` in child processes): used instead of running them again. */
  selfTests?: Partial<Record<ProviderName, SelfTestResult>>;
  /**
   * Per-tile time (ms) of one step at `batch` tiles of the card's size on `provider` — `auto`'s second look
   * when a provider loses at batch 1 but could win at the batch it would run (default: `timeStep`).
   */
  timePerTile?: (provider: ProviderName, batch: number) => Promise<number>;
}

/**
 * GPUs run several tiles per call (`batchFor`); a single-tile step undersells them (an H100 through WebGPU:
 * 9.6 ms vs 8.1 ms on 16 CPU cores at batch 1, but 1.4 vs 5.0 ms per tile at batches 8 and 4). `auto` takes a
 * second, batched look only when the batch-1 step is within this factor of the CPU's, so a software adapter
 * (hundreds of times slower) is not timed on a batch.
 */
export const BATCHED_LOOK_WITHIN = 4;

const decisions = new Map<string, Promise<ProviderChoice>>();

/** Forget cached decisions (and CPU references), e.g. after a driver change or in tests. */
export function clearProviderCache(): void {
  decisions.clear();
  cpuReference.clear();
}

const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);

/**
 * The provider a restore of `modelDir`'s package runs on. `auto`: the first of cuda > dml > coreml >
 * webgpu the build offers that passes the self-test and is not slower than the CPU, else cpu. An
 * explicit GPU setting: that provider if offered and it passes, else cpu. `cpu`: cpu, no test.
 * Never rejects for provider trouble (only for a broken package).
 */
export function selectProvider(setting: ProviderSetting | string, modelDir: string, opts: SelectOptions = {}): Promise<ProviderChoice> {
  const s = parseProviderSetting(setting);
  const key = [resolve(modelDir), s, opts.threads ?? 0, opts.tolerance ?? DEFAULT_TOLERANCE, opts.autoMinSpeedup ?? 1, (opts.offered ?? []).join('+')].join('|');
  const cacheable = !opts.noCache && opts.perturbReference === undefined && !opts.selfTests;
  if (cacheable) {
    const hit = decisions.get(key);
    if (hit) return hit;
  }
  const p = decide(s, modelDir, opts);
  if (cacheable) {
    decisions.set(key, p);
    p.catch(() => decisions.delete(key));
  }
  return p;
}

async function decide(setting: ProviderSetting, modelDir: string, opts: SelectOptions): Promise<ProviderChoice> {
  const card = readCard(modelDir);
  const tile = card.tile.size;
  const offered = opts.offered ?? availableProviders();
  const tried: ProviderAttempt[] = [];
  const done = (provider: ProviderName, reason: string, st: SelfTestResult | null): ProviderChoice => ({
    setting,
    provider,
    reason,
    selfTest: st && provider !== 'cpu' ? { maxAbsDiff: st.maxAbsDiff, ms: st.ms, firstMs: st.firstMs, cpuMs: st.cpuMs, tolerance: st.tolerance } : null,
    tried,
    tile,
    batch: batchFor(provider, tile),
  });
  const summary = () => tried.filter((t) => !t.ok).map((t) => `${t.provider}: ${t.reason}`).join('; ');

  if (setting === 'cpu') return done('cpu', 'cpu requested', null);

  const candidates: ProviderName[] = setting === 'auto' ? AUTO_ORDER.filter((p) => p !== 'cpu') : [setting];
  for (const p of candidates) {
    if (!offered.includes(p)) {
      // For auto, providers the build does not have are not worth a line each; explicit ones are.
      if (setting !== 'auto') tried.push({ provider: p, ok: false, reason: `not available in this onnxruntime build on ${process.platform} (offered: ${offered.join(', ')})` });
      continue;
    }
    const st = opts.selfTests?.[p] ?? (await runSelfTest(p, modelDir, opts));
    if (!st.ok) {
      tried.push({ provider: p, ok: false, reason: st.error ?? 'self-test failed', selfTest: st });
      continue;
    }
    const minSpeedup = opts.autoMinSpeedup ?? 1;
    let batched = '';
    if (setting === 'auto' && Number.isFinite(minSpeedup) && st.ms * minSpeedup > st.cpuMs) {
      let slower = true;
      if (st.ms <= st.cpuMs * BATCHED_LOOK_WITHIN) {
        const perTile = opts.timePerTile ?? (async (q: ProviderName, b: number) => (await timeStep(q, modelDir, { size: tile, batch: b, runs: 2, threads: opts.threads, budgetMs: 5000 })).medianMs / b);
        const bp = batchFor(p, tile);
        const bc = batchFor('cpu', tile);
        try {
          const [gp, gc] = [await perTile(p, bp), await perTile('cpu', bc)];
          batched = `${fmtMs(gp)} vs ${fmtMs(gc)} per tile at batch ${bp} vs ${bc}`;
          slower = !(gp * minSpeedup <= gc);
        } catch (e) {
          batched = `batched timing failed: ${shortError(e)}`;
        }
      }
      if (!slower) {
        tried.push({ provider: p, ok: true, reason: 'passed', selfTest: st });
        const why = `${p}: self-test passed (max |Δ| ${st.maxAbsDiff.toExponential(1)} ≤ ${st.tolerance} vs cpu); slower than the cpu on one tile (${fmtMs(st.ms)} vs ${fmtMs(st.cpuMs)}) but faster in batches (${batched})`;
        return done(p, tried.length > 1 ? `${why}; skipped ${summary()}` : why, st);
      }
      tried.push({ provider: p, ok: false, reason: `works but is slower than the cpu (${fmtMs(st.ms)} vs ${fmtMs(st.cpuMs)} per ${tile}² step${batched ? `; ${batched}` : '; software adapter?'})`, selfTest: st });
      // Free the session the self-test opened (device memory) unless the test ran elsewhere.
      if (!opts.selfTests?.[p]) await session(modelDir, { threads: opts.threads, provider: p }).then(releaseSession).catch(() => {});
      continue;
    }
    tried.push({ provider: p, ok: true, reason: 'passed', selfTest: st });
    const why = `${p}: self-test passed (max |Δ| ${st.maxAbsDiff.toExponential(1)} ≤ ${st.tolerance} vs cpu; ${fmtMs(st.ms)} vs ${fmtMs(st.cpuMs)} per ${tile}² step)`;
    return done(p, setting === 'auto' && tried.length > 1 ? `${why}; skipped ${summary()}` : why, st);
  }
  if (setting === 'auto') return done('cpu', tried.length ? `using cpu: ${summary()}` : `using cpu: no GPU provider in this onnxruntime build (offered: ${offered.join(', ')})`, null);
  return done('cpu', `${setting} unavailable, using cpu: ${summary()}`, null);
}

// ---------------------------------------------------------------------------------------------
// Vulkan (Linux: WebGPU runs on Dawn's Vulkan backend)

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/lib', '/usr/local/lib'];
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Where the Vulkan loader (libvulkan.so.1) would be found, and which ICD files apply. Linux only. */
export function vulkanStatus(env: NodeJS.ProcessEnv = process.env): { loader: string | null; icds: string[]; icdFromEnv: boolean } {
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean), ...LIB_DIRS];
  const loader = dirs.map((d) => join(d, 'libvulkan.so.1')).find((p) => existsSync(p)) ?? null;
  const fromEnv = env.VK_ICD_FILENAMES ?? env.VK_DRIVER_FILES;
  if (fromEnv) return { loader, icds: fromEnv.split(delimiter).filter(Boolean), icdFromEnv: true };
  const icds: string[] = [];
  for (const d of ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d']) {
    try {
      for (const f of readdirSync(d)) if (f.endsWith('.json')) icds.push(join(d, f));
    } catch {
      /* absent */
    }
  }
  return { loader, icds, icdFromEnv: false };
}

/** Linux: why WebGPU cannot start (no Vulkan loader, no driver file), or null when it may. */
export function missingVulkan(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string | null {
  if (platform !== 'linux') return null;
  const v = vulkanStatus(env);
  if (!v.loader) return 'no Vulkan loader (libvulkan.so.1) found';
  const icds = v.icds.filter((f) => existsSync(f));
  if (!icds.length) return v.icdFromEnv ? `Vulkan driver file not found (${v.icds.join(delimiter)})` : 'no Vulkan driver (ICD) installed';
  return null;
}

/**
 * Environment for a child process that runs WebGPU on Chromium's SwiftShader (software Vulkan), or null
 * when that driver is not installed. Adds Chromium's own libvulkan.so.1 to LD_LIBRARY_PATH when the system
 * has no Vulkan loader (Debian's libvulkan1 not installed), and a private XDG_RUNTIME_DIR (mode 0700).
 */
export function softwareVulkanEnv(base: NodeJS.ProcessEnv = process.env, icd = SWIFTSHADER_ICD): NodeJS.ProcessEnv | null {
  if (process.platform !== 'linux' || !existsSync(icd)) return null;
  const env: NodeJS.ProcessEnv = { ...base, VK_ICD_FILENAMES: icd };
  delete env.VK_DRIVER_FILES;
  const icdDir = dirname(icd);
  if (!vulkanStatus(env).loader && existsSync(join(icdDir, 'libvulkan.so.1'))) env.LD_LIBRARY_PATH = [icdDir, base.LD_LIBRARY_PATH].filter(Boolean).join(delimiter);
  if (!env.XDG_RUNTIME_DIR || !existsSync(env.XDG_RUNTIME_DIR)) env.XDG_RUNTIME_DIR = privateRuntimeDir(); // 0700, one per process
  return env;
}

// ---------------------------------------------------------------------------------------------
// Step timing (doctor, bench)

export interface StepTiming {
  provider: ProviderName;
  size: number;
  batch: number;
  /** First call (shader compilation, allocation), ms. */
  firstMs: number;
  /** Following calls, ms each. */
  runs: number[];
  medianMs: number;
}

/**
 * Time one denoiser step of `batch` × size² on `provider` (seeded input; a warm-up call, then up to `runs`
 * calls, stopping early once `budgetMs` (default 15 s) is spent, at least one timed call).
 */
export async function timeStep(provider: ProviderName, modelDir: string, o: { size?: number; batch?: number; runs?: number; threads?: number; budgetMs?: number } = {}): Promise<StepTiming> {
  const size = o.size ?? 128;
  const batch = o.batch ?? 1;
  const runs = Math.max(1, o.runs ?? 3);
  const pkg = await session(modelDir, { threads: o.threads, provider });
  const io = pkg.card.io.denoiser;
  const n = batch * 3 * size * size;
  const rng = new Rng(99, size * 64 + batch);
  const x = rng.fillNormal(new Float32Array(n));
  const c = new Float32Array(n);
  for (let i = 0; i < n; i++) c[i] = rng.uniform() * 2 - 1;
  const feeds = denoiserFeeds(io, x, c, new Float32Array(batch).fill(0.5), batch, size, size);
  let t = performance.now();
  await pkg.denoiser.run(feeds);
  const firstMs = performance.now() - t;
  const times: number[] = [];
  const budget = o.budgetMs ?? 15_000;
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    await pkg.denoiser.run(feeds);
    times.push(performance.now() - t);
    if (performance.now() - start > budget) break;
  }
  return { provider, size, batch, firstMs, runs: times, medianMs: median(times) };
}
