/** Messages between the main process (or CLI) and the engine host. Same protocol for Electron's utilityProcess and Node's child_process. */
import type { RestoreOutcome, RestoreProgress, RestoreRequest } from './restore';
import type { FindFacesAnswer } from './faces/find';

export type ToHost =
  | { type: 'run'; jobId: number; request: RestoreRequest }
  | { type: 'cancel'; jobId: number }
  | { type: 'ping'; id: number }
  /** Find the faces in a photo (the app's faces.detect); answered by 'faces' or 'callError' with the same id. */
  | { type: 'findFaces'; id: number; input: string };

export type FromHost =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; jobId: number; progress: RestoreProgress }
  | { type: 'done'; jobId: number; outcome: RestoreOutcome }
  | { type: 'error'; jobId: number; error: string; code: string; cancelled: boolean }
  | { type: 'pong'; id: number }
  | { type: 'faces'; id: number; answer: FindFacesAnswer }
  | { type: 'callError'; id: number; error: string; code: string };
