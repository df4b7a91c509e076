/**
 * The preload: exposes `window.daguerre` (DaguerreApi) through contextBridge.
 *
 * Only channels named in the contract reach ipcRenderer.invoke (as IPC_PREFIX + channel), only the
 * contract's events can be subscribed to (main sends them on IPC_PREFIX + event name). The same
 * module is bundled for the browser harness against a shim of `electron` (test/e2e/shim/electron.ts),
 * which may set `globalThis.__DAGUERRE_MEDIA_BASE__` before this runs.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import {
  IPC_PREFIX,
  GRANT_DROPPED,
  eventNames,
  isChannel,
  type Channel,
  type ChannelArgs,
  type ChannelReturns,
  type DaguerreApi,
  type EventName,
  type EventPayloads,
  type IpcResult,
} from '../shared/contract';

declare global {
  // eslint-disable-next-line no-var
  var __DAGUERRE_MEDIA_BASE__: string | undefined;
}

/** The base URL of media files: the app's custom protocol, unless a harness overrides it. */
export const MEDIA_BASE: string = globalThis.__DAGUERRE_MEDIA_BASE__ ?? 'daguerre://media/';

function isEventName(x: unknown): x is EventName {
  return typeof x === 'string' && (eventNames as string[]).includes(x);
}

function err<T>(code: 'BAD_ARGS' | 'INTERNAL', message: string): IpcResult<T> {
  return { ok: false, error: { code, message } };
}

export const api: DaguerreApi = {
  async invoke<C extends Channel>(channel: C, args: ChannelArgs<C>): Promise<IpcResult<ChannelReturns[C]>> {
    if (!isChannel(channel)) return err('BAD_ARGS', `unknown channel: ${String(channel)}`);
    try {
      return (await ipcRenderer.invoke(IPC_PREFIX + channel, args ?? {})) as IpcResult<ChannelReturns[C]>;
    } catch (e) {
      // Main never throws across IPC; this is a transport failure (window closing, harness gone).
      return err('INTERNAL', e instanceof Error ? e.message : String(e));
    }
  },
  on<E extends EventName>(event: E, cb: (payload: EventPayloads[E]) => void): () => void {
    if (!isEventName(event) || typeof cb !== 'function') return () => {};
    const listener = (_e: unknown, payload: EventPayloads[E]) => cb(payload);
    ipcRenderer.on(IPC_PREFIX + event, listener);
    return () => {
      ipcRenderer.removeListener(IPC_PREFIX + event, listener);
    };
  },
  pathsForFiles(files: readonly object[]): string[] {
    const out: string[] = [];
    for (const f of Array.from(files ?? [])) {
      try {
        const p = webUtils.getPathForFile(f as File);
        if (p) out.push(p);
      } catch {
        /* not a File backed by a path (e.g. pasted image data): nothing to import */
      }
    }
    // Files the user dropped or pasted are files the user chose: main grants exactly these paths
    // for import. Page script cannot forge them (a File made in the page has no path) and cannot
    // reach this channel itself (ipcRenderer stays in the preload's isolated world).
    if (out.length) {
      try {
        ipcRenderer.sendSync(IPC_PREFIX + GRANT_DROPPED, out);
      } catch {
        /* harness gone or window closing: the import will answer FORBIDDEN_PATH */
      }
    }
    return out;
  },
  mediaBase: MEDIA_BASE,
  platform: typeof process !== 'undefined' && process.platform ? process.platform : 'browser',
};

contextBridge.exposeInMainWorld('daguerre', Object.freeze(api));
