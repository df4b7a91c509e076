/**
 * The engine host's helper thread (issue 19.3). onnxruntime-node runs a session synchronously on
 * the thread that calls it (its `run` is a native call inside setImmediate), so while one job is in
 * onnxruntime the host's main thread does nothing else: a second job in flight could only overlap
 * its sharp decode and encode. The pure CPU work beside inference therefore runs on one worker
 * thread: the degradation estimate of `auto`, face detection (tfjs, face-api; also the app's
 * faces.detect) and the result metrics (LR-consistency, NIQE). Same code, same inputs, so the same
 * answers as in the main thread; the images are copied to the worker (small photos: nothing), and
 * an image over OFFLOAD_MAX_PIXELS is worked on in place instead (such a job runs alone anyway:
 * queue.ts PIPELINE_SOLO_PIXELS). The worker is this same module's host entry (host.ts starts
 * `serveOffload` when it runs as a worker), so the built app needs no extra bundle. If the worker
 * cannot start or dies, calls fail over to this thread; answers never depend on where they ran.
 */
import { Worker, parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ImageU8 } from './image';
import type { DegradationEstimate } from './degradation';
import type { DetectedFace } from './faces/portrait';
import type { FindFacesAnswer } from './faces/find';
import { InputError, type InputErrorCode } from './errors';

/** What runRestore hands to the helper thread (RestoreContext.offload); each is the function of the same name. */
export interface RestoreOffload {
  estimateDegradation(img: ImageU8, bytes: Uint8Array, file: string): Promise<DegradationEstimate>;
  detectPortraitFaces(rgb: ImageU8, opts: { naturalBackground?: boolean }): Promise<DetectedFace[]>;
  resultMetrics(out: ImageU8, lr: ImageU8): Promise<Record<string, number>>;
}

/** Images larger than this are worked on in the calling thread (no copy of a big image). */
export const OFFLOAD_MAX_PIXELS = 16_000_000;

/** The work the helper thread does, by name (also the in-thread fallback). */
const work = {
  async estimateDegradation(img: ImageU8, bytes: Uint8Array, file: string): Promise<DegradationEstimate> {
    return (await import('./degradation')).estimateDegradation(img, bytes, file);
  },
  async detectPortraitFaces(rgb: ImageU8, opts: { naturalBackground?: boolean }): Promise<DetectedFace[]> {
    return (await import('./faces/portrait')).detectPortraitFaces(rgb, opts);
  },
  async resultMetrics(out: ImageU8, lr: ImageU8): Promise<Record<string, number>> {
    return (await import('./result-metrics')).resultMetrics(out, lr);
  },
  async findFaces(input: string): Promise<FindFacesAnswer> {
    return (await import('./faces/find')).findFaces(input);
  },
};
type WorkName = keyof typeof work;

interface WireError {
  name: string;
  message: string;
  code?: string;
  file?: string;
}
type Answer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

function toWire(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const x = e as Error & { code?: unknown; file?: unknown };
  return { name: x.name, message: x.message, ...(typeof x.code === 'string' ? { code: x.code } : {}), ...(typeof x.file === 'string' ? { file: x.file } : {}) };
}

/** The error as the caller would have seen it in its own thread: InputError stays an InputError, codes kept. */
function fromWire(w: WireError): Error {
  if (w.name === 'InputError' && w.code && w.file !== undefined) {
    const e = new InputError(w.code as InputErrorCode, w.file, '');
    e.message = w.message;
    return e;
  }
  const e = new Error(w.message) as Error & { code?: string };
  e.name = w.name;
  if (w.code) e.code = w.code;
  return e;
}

const pixels = (img: ImageU8) => img.width * img.height;

/** tsx's ESM API (its `import` export; the `require` one cannot register hooks from a worker), found from `from`. */
function tsxEsmApi(from: string): string {
  const api = path.join(path.dirname(createRequire(from).resolve('tsx/package.json')), 'dist/esm/api/index.mjs');
  if (!fs.existsSync(api)) throw new Error(`${api}: not found`);
  return pathToFileURL(api).href;
}

/** The main thread's end: one worker, started on first use, calls answered in order. */
export class OffloadThread implements RestoreOffload {
  private worker: Worker | null = null;
  private failed = false;
  private next = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  /** `entry`: the module the worker runs (host.ts, or the bundle built from it). */
  constructor(private readonly entry: URL) {}

  private start(): Worker | null {
    if (this.worker || this.failed) return this.worker;
    try {
      const href = this.entry.href;
      const workerData = { daguerre: 'offload' };
      // From source (CLI, tests) the worker loads tsx first (as the host's `--import tsx`: engine-client.ts); the built bundle is plain JS.
      const w = href.endsWith('.ts')
        ? new Worker(`import(${JSON.stringify(tsxEsmApi(href))}).then((m) => m.register()).then(() => import(${JSON.stringify(href)}))`, { eval: true, workerData })
        : new Worker(this.entry, { workerData });
      w.unref();
      w.on('message', (a: Answer) => {
        const p = this.pending.get(a.id);
        if (!p) return;
        this.pending.delete(a.id);
        if (a.ok) p.resolve(a.value);
        else p.reject(fromWire(a.error));
      });
      const gone = (why: Error) => {
        if (this.worker !== w) return;
        this.worker = null;
        // calls still out are done again here (same answers); the next call starts a new worker
        const out = [...this.pending.values()];
        this.pending.clear();
        for (const p of out) p.reject(Object.assign(why, { retryHere: true }));
      };
      w.on('error', (e) => gone(e));
      w.on('exit', (code) => gone(new Error(`engine helper thread stopped (exit code ${code})`)));
      this.worker = w;
    } catch {
      this.failed = true;
    }
    return this.worker;
  }

  private call<N extends WorkName>(name: N, args: Parameters<(typeof work)[N]>, inPlace = false): ReturnType<(typeof work)[N]> {
    const here = () => (work[name] as (...a: unknown[]) => Promise<unknown>)(...args);
    const w = inPlace ? null : this.start();
    if (!w) return here() as ReturnType<(typeof work)[N]>;
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve,
        reject: (e) => ((e as { retryHere?: boolean }).retryHere ? here().then(resolve, reject) : reject(e)),
      });
      w.ref();
      w.postMessage({ id, name, args });
    }).finally(() => {
      if (!this.pending.size) this.worker?.unref();
    }) as ReturnType<(typeof work)[N]>;
  }

  estimateDegradation(img: ImageU8, bytes: Uint8Array, file: string): Promise<DegradationEstimate> {
    return this.call('estimateDegradation', [img, bytes, file], pixels(img) > OFFLOAD_MAX_PIXELS);
  }

  detectPortraitFaces(rgb: ImageU8, opts: { naturalBackground?: boolean }): Promise<DetectedFace[]> {
    return this.call('detectPortraitFaces', [rgb, opts], pixels(rgb) > OFFLOAD_MAX_PIXELS);
  }

  resultMetrics(out: ImageU8, lr: ImageU8): Promise<Record<string, number>> {
    return this.call('resultMetrics', [out, lr], pixels(out) > OFFLOAD_MAX_PIXELS);
  }

  findFaces(input: string): Promise<FindFacesAnswer> {
    return this.call('findFaces', [input]);
  }

  /** Stops the worker (tests; a host that exits takes it along anyway). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }
}

/** The worker's side: answers each call, in the order they come. */
export function serveOffload(): void {
  const port = parentPort;
  if (!port) throw new Error('serveOffload: not a worker thread');
  let chain = Promise.resolve();
  port.on('message', (m: { id: number; name: WorkName; args: unknown[] }) => {
    chain = chain.then(async () => {
      try {
        const value = await (work[m.name] as (...a: unknown[]) => Promise<unknown>)(...m.args);
        port.postMessage({ id: m.id, ok: true, value } satisfies Answer);
      } catch (e) {
        port.postMessage({ id: m.id, ok: false, error: toWire(e) } satisfies Answer);
      }
    });
  });
}
