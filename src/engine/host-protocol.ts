/** Messages between the main process (or CLI) and the engine host. Same protocol for Electron's utilityProcess and Node's child_process. */
import type { RestoreOutcome, RestoreProgress, RestoreRequest } from './restore';

export type ToHost =
  | { type: 'run'; jobId: number; request: RestoreRequest }
  | { type: 'cancel'; jobId: number }
  | { type: 'ping'; id: number };

export type FromHost =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; jobId: number; progress: RestoreProgress }
  | { type: 'done'; jobId: number; outcome: RestoreOutcome }
  | { type: 'error'; jobId: number; error: string; code: string; cancelled: boolean }
  | { type: 'pong'; id: number };
