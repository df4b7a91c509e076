/**
 * Model packages (`<dir>/<id>/card.json` + ONNX files, DESIGN §2): discovery, validation, sessions.
 *
 * A package is valid when its card parses with the shared `ModelCard` schema, its id equals its
 * folder name, its files exist, and each ONNX graph's input/output names match the card. Sessions
 * are created once per package (per thread/provider setting) and cached; `discoverModels` validates
 * eagerly through the same cache, so the sessions it opens are the ones a later restore reuses.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelCard } from '../../shared/card';

export interface ModelPackage {
  id: string;
  dir: string;
  card: ModelCard;
  denoiser: ort.InferenceSession;
  policy: ort.InferenceSession | null;
  /** Execution providers the sessions were created with, in preference order. */
  providers: string[];
  threads: number;
}

export interface ModelListEntry {
  id: string;
  ok: boolean;
  error?: string;
  card?: ModelCard;
  dir: string;
}

export interface LoadOptions {
  /** intraOpNumThreads; default: the number of cores. */
  threads?: number;
  /** onnxruntime execution providers, default ['cpu']. */
  providers?: string[];
}

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

const cache = new Map<string, Promise<ModelPackage>>();

function optsKey(dir: string, o: LoadOptions) {
  return `${resolve(dir)}|${o.threads ?? availableParallelism()}|${(o.providers ?? ['cpu']).join(',')}`;
}

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

function checkNames(id: string, file: string, kind: 'inputs' | 'outputs', got: readonly string[], want: readonly string[]) {
  const a = [...got].sort().join(',');
  const b = [...want].sort().join(',');
  if (a !== b) throw new ModelError(`model "${id}": ${file} has ${kind} [${got.join(', ')}], card expects [${want.join(', ')}]`);
}

async function createSession(id: string, path: string, o: Required<LoadOptions>): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(path, {
      intraOpNumThreads: o.threads,
      interOpNumThreads: 1,
      executionProviders: o.providers as ort.InferenceSession.ExecutionProviderConfig[],
      graphOptimizationLevel: 'all',
      // No busy-waiting of the intra-op threads between runs: the engine does its own (single-
      // threaded) work between denoiser calls, and spinning threads starve it and each other on
      // small machines (measured on 2 cores: ORT 4×, our step maths 3× faster without spinning).
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  } catch (e) {
    throw new ModelError(`model "${id}": cannot open ${basename(path)}: ${(e as Error).message}`);
  }
}

async function openPackage(dir: string, o: Required<LoadOptions>): Promise<ModelPackage> {
  const card = readCard(dir);
  const id = card.id;
  const denoiser = await createSession(id, join(dir, card.files.denoiser), o);
  let policy: ort.InferenceSession | null = null;
  try {
    checkNames(id, card.files.denoiser, 'inputs', denoiser.inputNames, card.io.denoiser.inputs);
    checkNames(id, card.files.denoiser, 'outputs', denoiser.outputNames, card.io.denoiser.outputs);
    if (card.files.policy && card.io.policy) {
      policy = await createSession(id, join(dir, card.files.policy), o);
      checkNames(id, card.files.policy, 'inputs', policy.inputNames, card.io.policy.inputs);
      checkNames(id, card.files.policy, 'outputs', policy.outputNames, card.io.policy.outputs);
      if (card.io.policy.inputs.length !== 3 || card.io.policy.outputs.length !== 3)
        throw new ModelError(`model "${id}": policy must have 3 inputs (x0_hat, t_feat, h) and 3 outputs (p_denoise, value, h_out)`);
    }
  } catch (e) {
    await denoiser.release().catch(() => {});
    await policy?.release().catch(() => {});
    throw e;
  }
  return { id, dir: resolve(dir), card, denoiser, policy, providers: [...o.providers], threads: o.threads };
}

/**
 * Load (once) the package in `dir`: validated card, one denoiser session and, if the package has
 * one, one policy session. Repeated calls with the same settings return the same package.
 */
export function loadModel(dir: string, opts: LoadOptions = {}): Promise<ModelPackage> {
  const o: Required<LoadOptions> = { threads: opts.threads ?? availableParallelism(), providers: opts.providers ?? ['cpu'] };
  if (!Number.isInteger(o.threads) || o.threads < 1) return Promise.reject(new RangeError(`threads must be a positive integer: ${o.threads}`));
  const key = optsKey(dir, o);
  let p = cache.get(key);
  if (!p) {
    p = openPackage(dir, o);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Release a package's sessions and forget it. */
export async function unloadModel(pkg: ModelPackage): Promise<void> {
  for (const [k, v] of cache) if ((await v.catch(() => null)) === pkg) cache.delete(k);
  await pkg.denoiser.release();
  await pkg.policy?.release();
}

/**
 * All packages under the given folders (`<dir>/<id>/card.json`), each validated (card, files, ONNX
 * names). Broken packages are listed with `ok: false` and the error; missing folders are skipped;
 * a second package with an id already seen is reported as a duplicate.
 */
export async function discoverModels(dirs: string[], opts: LoadOptions = {}): Promise<ModelListEntry[]> {
  const out: ModelListEntry[] = [];
  const seen = new Set<string>();
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false; // missing, dangling link, no permission
    }
  };
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
        const pkg = await loadModel(dir, opts);
        out.push({ id: pkg.id, ok: true, card: pkg.card, dir });
      } catch (e) {
        out.push({ id: name, ok: false, error: (e as Error).message, dir });
      }
    }
  }
  return out;
}
