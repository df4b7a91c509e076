/**
 * The engine host: a separate process that runs restorations (onnxruntime, sharp) off the main
 * thread. Started as an Electron utilityProcess in the app (messages on process.parentPort) or as a
 * Node child process in the CLI and tests (process.send / process.on('message')).
 *
 * Every message is handled as it comes, so the queue's pipeline (issue 19.3: up to `pipeline` jobs
 * sent at once) runs its jobs concurrently here. onnxruntime-node runs a session on the calling
 * thread, so one job's inference holds this thread: restore.ts's inference lock lets one job at a
 * time into it (one session per model, shared: catalogue.ts), and the CPU work beside it (auto's
 * degradation estimate, face detection, result metrics, the app's faces.detect) runs on a helper
 * thread (offload.ts), while sharp decodes and encodes on its own threads. This file is also that
 * helper thread's entry: started as a worker it serves offload.ts's calls and nothing else.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { runRestore } from './restore';
import { isCancel, oneLine, InputError } from './errors';
import { OffloadThread, serveOffload } from './offload';
import type { FromHost, ToHost } from './host-protocol';

interface ParentPortLike {
  postMessage(msg: unknown): void;
  on(ev: 'message', cb: (e: { data: unknown }) => void): void;
}

function startHost(): void {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  const send = (msg: FromHost): void => {
    if (parentPort) parentPort.postMessage(msg);
    else process.send?.(msg);
  };
  const running = new Map<number, AbortController>();
  const offload = new OffloadThread(new URL(import.meta.url));

  async function handle(msg: ToHost): Promise<void> {
    if (msg.type === 'ping') return send({ type: 'pong', id: msg.id });
    if (msg.type === 'findFaces') {
      try {
        // On the helper thread: tfjs and the detector weights load there on first use, and cost nothing to hosts that never find faces.
        send({ type: 'faces', id: msg.id, answer: await offload.findFaces(msg.input) });
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
      // At most one progress message per job per 100 ms, but every change of stage (message) and the end go out.
      let lastProgress = 0;
      let lastMessage: string | undefined;
      try {
        const outcome = await runRestore(msg.request, {
          signal: ac.signal,
          offload,
          onProgress: (progress) => {
            const now = Date.now();
            if (now - lastProgress < 100 && progress.fraction < 0.99 && progress.message === lastMessage) return;
            lastProgress = now;
            lastMessage = progress.message;
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
}

if (!isMainThread && (workerData as { daguerre?: string } | null)?.daguerre === 'offload') serveOffload();
else startHost();
