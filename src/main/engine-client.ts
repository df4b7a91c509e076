/**
 * Talks to the engine host process. How the process is started is injected: a Node child process
 * (CLI, tests) or Electron's utilityProcess (the app) — the message protocol is the same.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FromHost, ToHost } from '../engine/host-protocol';
import type { RestoreOutcome, RestoreProgress, RestoreRequest } from '../engine/restore';
import type { FindFacesAnswer } from '../engine/faces/find';
import { hostEnv, stderrFilter } from './host-stderr';

export interface HostProcess {
  pid: number | undefined;
  send(msg: ToHost): void;
  onMessage(cb: (msg: FromHost) => void): void;
  onExit(cb: (code: number | null) => void): void;
  kill(): void;
}

export type HostSpawner = () => HostProcess;

const here = path.dirname(fileURLToPath(import.meta.url));

function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** Node child process running the host: the built bundle when present, else the TS source through tsx. */
export function forkNodeHost(): HostProcess {
  const built = path.join(here, 'engine-host.js');
  const source = path.resolve(here, '../engine/host.ts');
  const useBuilt = here.endsWith(path.join('out', 'main')) && fs.existsSync(built);
  const child = fork(useBuilt ? built : source, [], {
    // tsx by absolute URL: a bare 'tsx' is resolved from the working directory, so the CLI run from any other
    // folder lost its engine host ('engine stopped unexpectedly').
    execArgv: useBuilt ? [] : ['--import', tsxLoaderUrl()],
    // stderr through the filter: the graphics stack's start-up noise stays out of the user's terminal.
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: hostEnv(),
  });
  const err = stderrFilter((s) => process.stderr.write(s));
  child.stderr?.on('data', (d: Buffer) => err.push(d));
  child.stderr?.on('end', () => err.end());
  return {
    pid: child.pid,
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (cb) => child.on('message', (m) => cb(m as FromHost)),
    onExit: (cb) => child.on('exit', (code) => cb(code)),
    kill: () => child.kill('SIGKILL'),
  };
}

interface Pending {
  resolve: (o: RestoreOutcome) => void;
  reject: (e: EngineError) => void;
  onProgress?: (p: RestoreProgress) => void;
}

export class EngineError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly cancelled = false,
    readonly crashed = false,
  ) {
    super(message);
  }
}

/** The entry for `id`, removed from the map (each answer settles its request once). */
function take<V>(m: Map<number, V>, id: number): V | undefined {
  const v = m.get(id);
  m.delete(id);
  return v;
}

export class EngineClient {
  private proc: HostProcess | null = null;
  private ready: Promise<void> | null = null;
  private pending = new Map<number, Pending>();
  /** Requests that are not jobs (findFaces), by their own id. */
  private calls = new Map<number, { resolve: (a: FindFacesAnswer) => void; reject: (e: EngineError) => void }>();
  private nextCall = 1;
  private closing = false;

  constructor(private readonly spawn: HostSpawner = forkNodeHost) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const proc = this.spawn();
    this.proc = proc;
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new EngineError('engine host did not start within 60 s', 'ENGINE')), 60_000);
      proc.onMessage((msg) => {
        if (msg.type === 'ready') {
          clearTimeout(timer);
          resolve();
          return;
        }
        if (msg.type === 'progress') this.pending.get(msg.jobId)?.onProgress?.(msg.progress);
        else if (msg.type === 'done') take(this.pending, msg.jobId)?.resolve(msg.outcome);
        else if (msg.type === 'error') take(this.pending, msg.jobId)?.reject(new EngineError(msg.error, msg.code, msg.cancelled));
        else if (msg.type === 'faces') take(this.calls, msg.id)?.resolve(msg.answer);
        else if (msg.type === 'callError') take(this.calls, msg.id)?.reject(new EngineError(msg.error, msg.code));
      });
      proc.onExit((code) => {
        clearTimeout(timer);
        if (this.proc === proc) {
          this.proc = null;
          this.ready = null;
        }
        const err = new EngineError(`engine stopped unexpectedly (exit code ${code ?? 'signal'})`, 'CRASH', false, true);
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.reject(err);
        }
        for (const [id, c] of this.calls) {
          this.calls.delete(id);
          c.reject(err);
        }
        if (!this.closing) reject(err);
      });
    });
    return this.ready;
  }

  async run(jobId: number, request: RestoreRequest, onProgress?: (p: RestoreProgress) => void): Promise<RestoreOutcome> {
    await this.start();
    return new Promise<RestoreOutcome>((resolve, reject) => {
      this.pending.set(jobId, { resolve, reject, onProgress });
      this.proc!.send({ type: 'run', jobId, request });
    });
  }

  /** Finds the faces in a photo, in the engine host (decode + detector + landmarks). */
  async findFaces(input: string): Promise<FindFacesAnswer> {
    await this.start();
    const id = this.nextCall++;
    return new Promise<FindFacesAnswer>((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.proc!.send({ type: 'findFaces', id, input });
    });
  }

  cancel(jobId: number): void {
    if (this.pending.has(jobId)) this.proc?.send({ type: 'cancel', jobId });
  }

  /** Kills the host (tests use this to simulate a crash). A new one starts on the next run. */
  kill(): void {
    this.proc?.kill();
  }

  async close(): Promise<void> {
    this.closing = true;
    this.proc?.kill();
    this.proc = null;
    this.ready = null;
  }
}
