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
 *   openModel(dir, {threads, provider})
 *                                 the package on the device the user chose: the provider setting is resolved by
 *                                 providers.ts (self-test once per model and setting, CPU fallback with a reason),
 *                                 the sessions come from the only session cache, keyed by (dir, threads, provider).
 *   session(dir, {threads, provider}) / releaseSession(pkg)
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
// Sessions: the only cache, keyed by (dir, threads, provider)

export interface SessionOptions {
  /** intraOpNumThreads; default: the number of cores. */
  threads?: number;
  /** onnxruntime execution provider; default 'cpu'. */
  provider?: string;
}

const sessions = new Map<string, Promise<ModelPackage>>();

/** The cache key of a package's sessions. */
export function sessionKey(dir: string, o: SessionOptions = {}): string {
  return `${resolve(dir)}|${o.threads ?? availableParallelism()}|${o.provider ?? 'cpu'}`;
}

/**
 * The package in `dir` with its sessions on `provider` (validated card, one denoiser session, one policy
 * session when the package has one), opened once per (dir, threads, provider); a failed open is not kept.
 */
export function session(dir: string, o: SessionOptions = {}): Promise<ModelPackage> {
  const threads = o.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) return Promise.reject(new RangeError(`threads must be a positive integer: ${threads}`));
  const key = sessionKey(dir, { threads, provider: o.provider });
  let p = sessions.get(key);
  if (!p) {
    p = import('./diffusion/models').then((m) => m.loadModel(dir, { threads, providers: [o.provider ?? 'cpu'] }));
    sessions.set(key, p);
    p.catch(() => sessions.delete(key));
  }
  return p;
}

/** Release a package's sessions and forget them. */
export async function releaseSession(pkg: ModelPackage): Promise<void> {
  for (const [k, v] of sessions) if ((await v.catch(() => null)) === pkg) sessions.delete(k);
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
}

export interface OpenOptions {
  threads?: number;
  /** Provider setting ('auto' | 'cpu' | 'webgpu' | …, providers.ts); absent: CPU without a self-test. */
  provider?: string;
}

/**
 * The package in `dir` on the device the user chose: every model a restore runs (plain, portrait's background
 * and face models) comes here, so all of them run on the chosen provider. A package that cannot be opened
 * (corrupt ONNX, graph names that differ from the card) is an InputError naming it.
 */
export async function openModel(dir: string, o: OpenOptions = {}): Promise<OpenedModel> {
  try {
    // selectProvider rejects only for a broken package (its CPU reference cannot run).
    const choice = o.provider ? await (await import('./providers')).selectProvider(o.provider, dir, { threads: o.threads }) : null;
    const model = await session(dir, { threads: o.threads, provider: choice?.provider ?? 'cpu' });
    return { model, choice };
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
