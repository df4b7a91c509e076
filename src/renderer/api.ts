/** Thin typed wrapper over window.daguerre: unwraps IpcResult into values or ApiError. */
import {
  mediaPath,
  type Channel,
  type ChannelArgs,
  type ChannelReturns,
  type ErrorCode,
  type EventName,
  type EventPayloads,
  type MediaKind,
} from '../shared/contract';

export class ApiError extends Error {
  constructor(
    public code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function api() {
  if (!window.daguerre) throw new Error('window.daguerre is missing: the preload did not run');
  return window.daguerre;
}

export async function call<C extends Channel>(channel: C, args: ChannelArgs<C>): Promise<ChannelReturns[C]> {
  const r = await api().invoke(channel, args);
  if (!r.ok) throw new ApiError(r.error.code, r.error.message);
  return r.value;
}

export function on<E extends EventName>(event: E, cb: (p: EventPayloads[E]) => void): () => void {
  return api().on(event, cb);
}

export function mediaUrl(kind: MediaKind, id: number, version = 0): string {
  return api().mediaBase + mediaPath(kind, id, version);
}

/** One readable line from any error. */
export function errorLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e);
  const line = (msg ?? 'Unknown error').split('\n').find((l) => l.trim()) ?? 'Unknown error';
  return line.length > 200 ? `${line.slice(0, 197)}…` : line;
}
