/**
 * The model catalogue: the engine's one place for model packages (`<dir>/<id>/card.json` + ONNX files, DESIGN §2).
 *
 *   listPackages(dirs)            every package under the folders, from its card alone (schema, id = folder
 *                                 name, the files the card names present): no onnxruntime, no session, so the
 *                                 Electron main process and `daguerre models` may call it. A broken package is
 *                                 listed with `ok: false` and its reason.
 *   Catalogue.list(dirs)          one listing, and what a method resolves to: 'auto' (the natural package for
 *                                 the scale, or by the photo's degradation), 'portrait' (natural background +
 *                                 face package, by card task: 'face-blind' preferred, then 'face'), a model id
 *                                 (an unknown id names the available ones), the package of a task for a scale.
 *   openModel(dir, {threads, provider, precision})
 *                                 the package on the device the user chose: the provider setting is resolved by
 *                                 providers.ts (self-test once per model and setting, CPU fallback with a reason),
 *                                 then the precision setting by resolvePrecision (int8 on the cpu provider only);
 *                                 the sessions come from the only session cache, keyed by (dir, threads, provider,
 *                                 precision).
 *   session(dir, {threads, provider, precision}) / releaseSession(pkg)
 *                                 that cache itself (providers' self-test and timing use it, so the session that
 *                                 passed a self-test is the one a restore reuses). The catalogue is the only
 *                                 caller of loadModel (diffusion/models.ts), which opens sessions uncached.
 *
 * onnxruntime is loaded only by the session functions (dynamic import), never by a listing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ModelCard, pickForScale, pickNaturalByDegradation } from '../shared/card';
import { InputError } from './errors';
import type { ModelPackage } from './diffusion/models';
import { PRECISION_SETTINGS, type PrecisionSetting } from '../shared/types';
import type { ProviderChoice } from './providers';

export interface ModelListEntry {
  id: string;
  ok: boolean;
  error?: string;
  card?: ModelCard;
  dir: string;
}

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

/** The classic methods: no package, resampling only. */
export const CLASSIC_METHODS = ['bicubic', 'lanczos'] as const;

// ---------------------------------------------------------------------------------------------
// Cards (no sessions)

/** Read and validate card.json (schema, id = folder name, files present). Throws ModelError. */
export function readCard(dir: string): ModelCard {
  const folder = basename(resolve(dir));
  const path = join(dir, 'card.json');
  if (!existsSync(path)) throw new ModelError(`model "${folder}": no card.json in ${dir}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ModelError(`model "${folder}": card.json is not valid JSON (${(e as Error).message})`);
  }
  const parsed = ModelCard.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelError(`model "${folder}": card.json does not match the model card schema: ${issues}`);
  }
  const card = parsed.data;
  if (card.id !== folder) throw new ModelError(`model "${folder}": card id "${card.id}" differs from its folder name`);
  if (!card.scales.includes(card.primaryScale)) throw new ModelError(`model "${folder}": primaryScale ${card.primaryScale} is not among scales [${card.scales.join(', ')}]`);
  if (card.tile.size % card.tile.multiple !== 0) throw new ModelError(`model "${folder}": tile.size ${card.tile.size} is not a multiple of tile.multiple ${card.tile.multiple}`);
  if (card.tile.overlap >= card.tile.size) throw new ModelError(`model "${folder}": tile.overlap must be smaller than tile.size`);
  for (const [role, file] of Object.entries(card.files)) {
    if (!file) continue;
    const p = join(dir, file);
    if (!existsSync(p) || !statSync(p).isFile()) throw new ModelError(`model "${folder}": ${role} file ${file} is missing`);
  }
  if (card.files.policy && !card.io.policy) throw new ModelError(`model "${folder}": card lists a policy file but no io.policy`);
  return card;
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false; // missing, dangling link, no permission
  }
};

/**
 * All packages under the given folders (`<dir>/<id>/card.json`), each validated by its card (schema, files
 * present; the ONNX graphs' names are checked when a session opens). Broken packages are listed with
 * `ok: false` and the error; missing folders are skipped; a second package with an id already seen is a duplicate.
 */
export function listPackages(dirs: readonly string[]): ModelListEntry[] {
  const out: ModelListEntry[] = [];
  const seen = new Set<string>();
  for (const root of dirs) {
    if (!isDir(root)) continue;
    let names: string[];
    try {
      names = readdirSync(root).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = resolve(root, name);
      if (!isDir(dir) || !existsSync(join(dir, 'card.json'))) continue;
      if (seen.has(name)) {
        out.push({ id: name, ok: false, error: `model "${name}": duplicate id (also found in an earlier folder)`, dir });
        continue;
      }
      seen.add(name);
      try {
        out.push({ id: name, ok: true, card: readCard(dir), dir });
      } catch (e) {
        out.push({ id: name, ok: false, error: (e as Error).message, dir });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Resolution

export type UsableEntry = ModelListEntry & { ok: true; card: ModelCard };

export interface PortraitPick {
  /** The background's natural package (null: Lanczos). */
  natural: UsableEntry | null;
  /** The face package (null: none installed, faces are left to the background). */
  face: UsableEntry | null;
}

/** One listing of the model folders and what methods resolve to in it. */
export class Catalogue {
  private constructor(readonly entries: readonly ModelListEntry[]) {}

  /** Lists the folders once (cards only). */
  static list(dirs: readonly string[]): Catalogue {
    return new Catalogue(listPackages(dirs));
  }

  static of(entries: readonly ModelListEntry[]): Catalogue {
    return new Catalogue(entries);
  }

  /** The packages that can be used. */
  get usable(): UsableEntry[] {
    return this.entries.filter((m): m is UsableEntry => m.ok && !!m.card);
  }

  /** The methods a restore accepts here: auto, portrait when a face package is installed, the classic ones, each usable package. */
  methodIds(): string[] {
    return ['auto', ...(this.face() ? ['portrait'] : []), ...CLASSIC_METHODS, ...this.usable.map((m) => m.id)];
  }

  /** The package `id`; an unknown id (naming the methods available) or a broken package is an InputError. */
  byId(id: string): UsableEntry {
    const hit = this.entries.find((m) => m.id === id);
    if (!hit) throw new InputError('UNSUPPORTED', id, `unknown method or model "${id}" (available: ${this.methodIds().join(', ')})`);
    if (!hit.ok || !hit.card) throw new InputError('UNSUPPORTED', id, `model "${id}" is broken: ${hit.error}`);
    return hit as UsableEntry;
  }

  /** The usable package of `task` for `scale` (serving it, else reaching it by passes and a downscale). */
  forScale(task: ModelCard['task'], scale: number): UsableEntry | null {
    return pickForScale(this.usable, task, scale) ?? null;
  }

  /** 'auto' without a look at the photo: the natural package for the scale, else 'lanczos'. Other methods unchanged. */
  resolveMethod(method: string, scale: number): string {
    if (method !== 'auto') return method;
    return this.forScale('natural', scale)?.id ?? 'lanczos';
  }

  /** `auto`'s natural package by the photo's degradation (pickNaturalByDegradation), or null. */
  naturalFor(scale: number, degraded: boolean): UsableEntry | null {
    return pickNaturalByDegradation(this.usable, scale, degraded) ?? null;
  }

  /** The face package: `id` when given (face or face-blind), else the first 'face-blind' one, else the first 'face' one. */
  face(id?: string): UsableEntry | null {
    const faces = this.usable.filter((m) => m.card.task === 'face-blind' || m.card.task === 'face');
    if (id) return faces.find((m) => m.id === id) ?? null;
    return faces.find((m) => m.card.task === 'face-blind') ?? faces.find((m) => m.card.task === 'face') ?? null;
  }

  /** `portrait`'s packages: the background (natural for the scale, `backgroundModel`, or Lanczos) and the face package. */
  portrait(o: { scale: number; faceModel?: string; backgroundModel?: string }): PortraitPick {
    let natural: UsableEntry | null = null;
    if (o.backgroundModel !== 'lanczos') natural = o.backgroundModel ? (this.usable.find((m) => m.id === o.backgroundModel) ?? null) : this.forScale('natural', o.scale);
    return { natural, face: this.face(o.faceModel) };
  }
}

/** 'auto' resolved without a look at the photo (see Catalogue.resolveMethod); a listing that fails gives 'lanczos'. */
export function resolveMethod(method: string, scale: number, modelDirs: readonly string[]): string {
  if (method !== 'auto') return method;
  try {
    return Catalogue.list(modelDirs).resolveMethod(method, scale);
  } catch {
    return 'lanczos';
  }
}

// ---------------------------------------------------------------------------------------------
// Precision: which denoiser file a session opens

/** The denoiser a session runs: the float one (card files.denoiser) or the int8 one (files.denoiserInt8). */
export type Precision = 'fp32' | 'int8';

/**
 * The gate an int8 denoiser must have passed, per its card (metrics.int8: mean deltas to the float denoiser
 * on its evaluation set), for 'auto' to run it: within 0.05 dB PSNR and 0.05 NIQE (bench/int8/README.md).
 */
export const INT8_GATE = { dPsnr: 0.05, dNiqe: 0.05 } as const;

/** A precision setting from the CLI or a request ('auto' | 'fp32' | 'int8'; absent: 'auto'). RangeError otherwise. */
export function parsePrecisionSetting(s: string | undefined | null): PrecisionSetting {
  const v = (s ?? 'auto').trim().toLowerCase();
  const r = v === '' ? 'auto' : v === 'float' || v === 'float32' ? 'fp32' : v;
  if (!(PRECISION_SETTINGS as readonly string[]).includes(r)) throw new RangeError(`unknown precision "${s}" (use one of ${PRECISION_SETTINGS.join(', ')})`);
  return r as PrecisionSetting;
}

/** Why the package's int8 denoiser did not pass its gate per its card, or null when it did. */
export function int8GateFailure(card: ModelCard): string | null {
  if (!card.files.denoiserInt8) return 'no int8 denoiser in the package';
  const m = card.metrics?.int8;
  if (!m || typeof m !== 'object') return 'the card records no int8 quality deltas (metrics.int8)';
  const { dPsnr, dNiqe, gate } = m as Record<string, unknown>;
  if (typeof dPsnr !== 'number' || typeof dNiqe !== 'number' || !Number.isFinite(dPsnr) || !Number.isFinite(dNiqe)) return "the card's metrics.int8 has no dPsnr and dNiqe";
  if (Math.abs(dPsnr) > INT8_GATE.dPsnr) return `int8 ΔPSNR ${dPsnr} dB is outside the ±${INT8_GATE.dPsnr} dB gate`;
  if (Math.abs(dNiqe) > INT8_GATE.dNiqe) return `int8 ΔNIQE ${dNiqe} is outside the ±${INT8_GATE.dNiqe} gate`;
  if (typeof gate === 'string' && /fail/i.test(gate)) return `the card says the int8 denoiser failed its gate (${gate})`;
  return null;
}

/** Which precision a model ran at and why (a result's info.precision; bench and the CLI report it). */
export interface PrecisionChoice {
  /** The setting asked for; null when none was given (fp32, as before precision settings existed). */
  setting: PrecisionSetting | null;
  precision: Precision;
  reason: string;
}

/**
 * The precision `setting` resolves to for a package (`card`) on `provider` (the provider that will run it):
 *   absent, 'fp32'  fp32;
 *   'auto'          int8 on the cpu provider when the package has an int8 denoiser that passed its gate per its
 *                   card (int8GateFailure), else fp32; always fp32 on another provider;
 *   'int8'          int8 on the cpu provider whenever the package has an int8 denoiser (gate or not); fp32 on
 *                   another provider or without one (the reason says so: one setting serves every package).
 */
export function resolvePrecision(setting: PrecisionSetting | undefined | null, card: ModelCard, provider: string): PrecisionChoice {
  if (!setting) return { setting: null, precision: 'fp32', reason: 'no precision setting: fp32' };
  if (setting === 'fp32') return { setting, precision: 'fp32', reason: 'fp32 asked' };
  if (provider !== 'cpu') return { setting, precision: 'fp32', reason: `${setting}: fp32 on ${provider} (int8 denoisers run on the cpu provider only)` };
  if (!card.files.denoiserInt8) return { setting, precision: 'fp32', reason: `${setting}: ${card.id} has no int8 denoiser, fp32` };
  if (setting === 'int8') return { setting, precision: 'int8', reason: 'int8 asked' };
  const failure = int8GateFailure(card);
  if (failure) return { setting, precision: 'fp32', reason: `auto: ${failure}, fp32` };
  const m = card.metrics!.int8 as { dPsnr: number; dNiqe: number };
  return { setting, precision: 'int8', reason: `auto: int8 on the cpu (its card: ΔPSNR ${m.dPsnr} dB, ΔNIQE ${m.dNiqe}, within the ±${INT8_GATE.dPsnr} gate)` };
}

// ---------------------------------------------------------------------------------------------
// Sessions: the only cache, keyed by (dir, threads, provider, precision)

export interface SessionOptions {
  /** intraOpNumThreads; default: the number of cores. */
  threads?: number;
  /** onnxruntime execution provider; default 'cpu'. */
  provider?: string;
  /** The denoiser file to open (resolved, not a setting: resolvePrecision); default 'fp32'. */
  precision?: Precision;
}

const sessions = new Map<string, Promise<ModelPackage>>();

/** The cache key of a package's sessions. */
export function sessionKey(dir: string, o: SessionOptions = {}): string {
  return `${resolve(dir)}|${o.threads ?? availableParallelism()}|${o.provider ?? 'cpu'}|${o.precision ?? 'fp32'}`;
}

/**
 * The package in `dir` with its sessions on `provider` (validated card, one denoiser session of `precision`,
 * one policy session when the package has one), opened once per (dir, threads, provider, precision); a failed
 * open is not kept.
 */
export function session(dir: string, o: SessionOptions = {}): Promise<ModelPackage> {
  const threads = o.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) return Promise.reject(new RangeError(`threads must be a positive integer: ${threads}`));
  const key = sessionKey(dir, { threads, provider: o.provider, precision: o.precision });
  let p = sessions.get(key);
  if (!p) {
    p = import('./diffusion/models').then((m) => m.loadModel(dir, { threads, providers: [o.provider ?? 'cpu'], precision: o.precision ?? 'fp32' }));
    sessions.set(key, p);
    p.catch(() => sessions.delete(key));
  }
  return p;
}

/** Release a package's sessions and forget them. */
export async function releaseSession(pkg: ModelPackage): Promise<void> {
  for (const [k, v] of sessions) if ((await v.catch(() => null)) === pkg) sessions.delete(k);
  await (await import('./diffusion/step')).releaseStepSessions(pkg);
  await pkg.denoiser.release();
  await pkg.policy?.release();
}

/** How many packages have sessions open (tests). */
export function openSessionCount(): number {
  return sessions.size;
}

export interface OpenedModel {
  model: ModelPackage;
  /** The provider decision (null when no setting was given: CPU, no self-test). */
  choice: ProviderChoice | null;
  /** The precision decision (resolvePrecision): which denoiser the model runs, and why. */
  precision: PrecisionChoice;
}

export interface OpenOptions {
  threads?: number;
  /** Provider setting ('auto' | 'cpu' | 'webgpu' | …, providers.ts); absent: CPU without a self-test. */
  provider?: string;
  /** Precision setting ('auto' | 'fp32' | 'int8', resolvePrecision); absent: fp32. */
  precision?: PrecisionSetting;
}

/**
 * The package in `dir` on the device the user chose: every model a restore runs (plain, portrait's background
 * and face models) comes here, so all of them run on the chosen provider and precision (the provider is decided
 * first, on the float denoiser; int8 only on the cpu provider). A package that cannot be opened
 * (corrupt ONNX, graph names that differ from the card) is an InputError naming it.
 */
export async function openModel(dir: string, o: OpenOptions = {}): Promise<OpenedModel> {
  try {
    // selectProvider rejects only for a broken package (its CPU reference cannot run).
    const choice = o.provider ? await (await import('./providers')).selectProvider(o.provider, dir, { threads: o.threads }) : null;
    const provider = choice?.provider ?? 'cpu';
    const precision = resolvePrecision(o.precision, readCard(dir), provider);
    const model = await session(dir, { threads: o.threads, provider, precision: precision.precision });
    return { model, choice, precision };
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    const id = basename(resolve(dir));
    throw new InputError('UNSUPPORTED', id, `model "${id}" is broken: ${e.message}`);
  }
}

/** What a result records of a provider decision (its info.providerChoice; bench and the CLI report it). */
export type ChoiceInfo = Pick<ProviderChoice, 'setting' | 'provider' | 'reason' | 'selfTest' | 'batch'>;

/** What a result records of a provider decision. */
export function choiceInfo(c: ProviderChoice): ChoiceInfo {
  return { setting: c.setting, provider: c.provider, reason: c.reason, selfTest: c.selfTest, batch: c.batch };
}
