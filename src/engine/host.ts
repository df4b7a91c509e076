/**
 * The engine host: a separate process that runs restorations (onnxruntime, sharp) off the main
 * thread. Started as an Electron utilityProcess in the app (messages on process.parentPort) or as a
 * Node child process in the CLI and tests (process.send / process.on('message')).
 */
import { runRestore } from './restore';
import { isCancel, oneLine, InputError } from './errors';
import type { FromHost, ToHost } from './host-protocol';

interface ParentPortLike {
  postMessage(msg: unknown): void;
  on(ev: 'message', cb: (e: { data: unknown }) => void): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;

function send(msg: FromHost): void {
  if (parentPort) parentPort.postMessage(msg);
  else process.send?.(msg);
}

const running = new Map<number, AbortController>();
let lastProgress = 0;

async function handle(msg: ToHost): Promise<void> {
  if (msg.type === 'ping') return send({ type: 'pong', id: msg.id });
  if (msg.type === 'findFaces') {
    try {
      // Loaded on first use: tfjs and the detector weights cost nothing to hosts that never find faces.
      const { findFaces } = await import('./faces/find');
      send({ type: 'faces', id: msg.id, answer: await findFaces(msg.input) });
    } catch (e) {
      const code = e instanceof InputError ? e.code : (e as { code?: unknown }).code === 'DETECTOR' ? 'DETECTOR' : 'ENGINE';
      send({ type: 'callError', id: msg.id, error: oneLine(e), code });
    }
    return;
  }
  if (msg.type === 'cancel') {
    running.get(msg.jobId)?.abort();
    return;
  }
  if (msg.type === 'run') {
    const ac = new AbortController();
    running.set(msg.jobId, ac);
    try {
      const outcome = await runRestore(msg.request, {
        signal: ac.signal,
        onProgress: (progress) => {
          const now = Date.now();
          if (now - lastProgress < 100 && progress.fraction < 0.99) return;
          lastProgress = now;
          send({ type: 'progress', jobId: msg.jobId, progress });
        },
      });
      send({ type: 'done', jobId: msg.jobId, outcome });
    } catch (e) {
      const cancelled = isCancel(e);
      send({ type: 'error', jobId: msg.jobId, error: cancelled ? 'cancelled' : oneLine(e), code: e instanceof InputError ? e.code : cancelled ? 'CANCELLED' : 'ENGINE', cancelled });
    } finally {
      running.delete(msg.jobId);
    }
  }
}

if (parentPort) parentPort.on('message', (e) => void handle(e.data as ToHost));
else process.on('message', (m) => void handle(m as ToHost));
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', pid: process.pid });
