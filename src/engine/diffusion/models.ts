/**
 * Opening a model package (`<dir>/<id>/card.json` + ONNX files, DESIGN §2): its card (read by the catalogue,
 * src/engine/catalogue.ts), one denoiser session and, when the package has one, one policy session, each ONNX
 * graph's input/output names checked against the card. Not cached here: the catalogue is the only caller and
 * owns the one session cache, keyed by (dir, threads, provider, precision); listing packages opens no session.
 */
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelCard } from '../../shared/card';
import { ModelError, readCard } from '../catalogue';

export { ModelError, readCard, type ModelListEntry } from '../catalogue';

export interface ModelPackage {
  id: string;
  dir: string;
  card: ModelCard;
  denoiser: ort.InferenceSession;
  policy: ort.InferenceSession | null;
  /** Execution providers the sessions were created with, in preference order. */
  providers: string[];
  threads: number;
  /** Which denoiser file was opened: 'fp32' card files.denoiser, 'int8' files.denoiserInt8 (LoadOptions.precision). */
  precision: 'fp32' | 'int8';
}

export interface LoadOptions {
  /** intraOpNumThreads; default: the number of cores. */
  threads?: number;
  /** onnxruntime execution providers, default ['cpu']. */
  providers?: string[];
  /** The denoiser file to open: 'fp32' (default) card files.denoiser, 'int8' files.denoiserInt8 (same I/O). */
  precision?: 'fp32' | 'int8';
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
  const file = o.precision === 'int8' ? card.files.denoiserInt8 : card.files.denoiser;
  if (!file) throw new ModelError(`model "${id}": the card names no int8 denoiser (files.denoiserInt8)`);
  const denoiser = await createSession(id, join(dir, file), o);
  let policy: ort.InferenceSession | null = null;
  try {
    checkNames(id, file, 'inputs', denoiser.inputNames, card.io.denoiser.inputs);
    checkNames(id, file, 'outputs', denoiser.outputNames, card.io.denoiser.outputs);
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
  return { id, dir: resolve(dir), card, denoiser, policy, providers: [...o.providers], threads: o.threads, precision: o.precision };
}

/**
 * Open the package in `dir`: validated card, one denoiser session and, if the package has one, one policy
 * session (uncached: use the catalogue's `session`/`openModel`, which cache per dir, threads, provider and precision).
 */
export function loadModel(dir: string, opts: LoadOptions = {}): Promise<ModelPackage> {
  const o: Required<LoadOptions> = { threads: opts.threads ?? availableParallelism(), providers: opts.providers ?? ['cpu'], precision: opts.precision ?? 'fp32' };
  if (!Number.isInteger(o.threads) || o.threads < 1) return Promise.reject(new RangeError(`threads must be a positive integer: ${o.threads}`));
  return openPackage(dir, o);
}
