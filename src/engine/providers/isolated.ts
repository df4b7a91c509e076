/**
 * Run provider work (self-test, selection, step timing, a parity fixture, a whole restore) in a child
 * process with its own environment: Vulkan driver variables only take effect in a process that loads
 * onnxruntime after they are set, and a crashing GPU driver takes down only the child.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RestoreRequest } from '../restore';

export interface IsolatedRequest {
  /** 'batch': run `requests` in order in the same child (shaders compile once); result = one entry per request. */
  op: 'info' | 'selfTest' | 'select' | 'time' | 'parity' | 'restore' | 'diffuse' | 'batch';
  requests?: IsolatedRequest[];
  provider?: string;
  setting?: string;
  modelDir?: string;
  threads?: number;
  tolerance?: number;
  perturbReference?: number;
  /** null = Infinity (JSON). */
  autoMinSpeedup?: number | null;
  sizes?: number[];
  batches?: number[];
  /** 'time': explicit [size, batch] pairs (instead of sizes × batches). */
  pairs?: [number, number][];
  runs?: number;
  /** 'time': stop timing a size/batch after this many ms (at least one timed run). */
  budgetMs?: number;
  parityDir?: string;
  root?: string;
  restore?: RestoreRequest;
  /** 'diffuse': restoreDiffusion of a synthetic LR image (no image files, no sharp) — the GPU bench. */
  diffuse?: DiffuseRequest;
}

export interface DiffuseRequest {
  width: number;
  height: number;
  scale: number;
  sampler: string;
  fidelity: number;
  seed: number;
  /** Tiles per call (default batchFor(provider, tile)). */
  batch?: number;
  /** Timed runs after the first (default 1). */
  runs?: number;
  /** Write the 8-bit output (raw RGB) here, for comparing providers. */
  rawOut?: string;
}

export interface DiffuseResult {
  provider: string;
  width: number;
  height: number;
  batch: number;
  tiles: number;
  callsPerTile: number;
  calls: number;
  onnxRuns: number;
  firstMs: number;
  runs: number[];
  medianMs: number;
  msOnnx: number;
  sha256: string;
}

export class IsolatedError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'IsolatedError';
  }
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Fork `script` — its `.js` beside it when bundled, else the `.ts` through tsx — with `args` and `env`; once it says
 * `{ready}`, send `req`; resolve with its `{ok, result}`. Rejects with an IsolatedError (one line, the child's stderr
 * tail kept on it) when the child answers an error, exits first, fails to start or runs past `timeoutMs`.
 * `what` names the request in those lines.
 */
export function askChild<T>(script: string, req: unknown, what: string, o: { args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<T> {
  const js = `${script}.js`;
  const useJs = existsSync(js);
  const child = fork(useJs ? js : `${script}.ts`, o.args ?? [], {
    execArgv: useJs ? [] : ['--import', 'tsx'],
    env: o.env ?? process.env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(() => {
      finish(() => reject(new IsolatedError(`${what} timed out after ${Math.round(o.timeoutMs / 1000)} s`, stderr, null)));
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('message', (m: { ready?: boolean; ok?: boolean; result?: unknown; error?: string }) => {
      if (m.ready) return void child.send(req as never);
      finish(() => (m.ok ? resolve(m.result as T) : reject(new IsolatedError(m.error ?? 'failed', stderr, null))));
    });
    child.on('exit', (code, signal) => finish(() => reject(new IsolatedError(`child exited (${signal ?? code}) before answering ${what}`, stderr, code))));
    child.on('error', (e) => finish(() => reject(new IsolatedError(e.message, stderr, null))));
  });
}

/** Run `req` in child.ts with `env` (askChild). */
export function runIsolated<T = unknown>(req: IsolatedRequest, o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<T> {
  return askChild<T>(join(here, 'child'), req, req.op, { env: o.env, timeoutMs: o.timeoutMs ?? 300_000 });
}
