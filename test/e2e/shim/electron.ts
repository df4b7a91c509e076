/**
 * Browser shim of the parts of `electron` the preload uses. The real preload (src/preload/index.ts)
 * is bundled by esbuild with `electron` aliased to this file and injected into the page before the
 * app, so `window.daguerre` talks to the real main-side Core in the Node test server:
 *   invoke  -> fetch POST /ipc/<channel> (channel without IPC_PREFIX)
 *   on      -> one EventSource('/events'), SSE `event: <name>`
 *   webUtils.getPathForFile -> the path a test attached to the File as `__path` (or its name)
 */
const PREFIX = 'daguerre:';
const g = globalThis as unknown as Record<string, unknown>;
g.__DAGUERRE_MEDIA_BASE__ = `${location.origin}/media/`;

type Listener = (event: unknown, ...args: unknown[]) => void;
const listeners = new Map<string, Set<Listener>>();
let source: EventSource | null = null;
const subscribed = new Set<string>();

function ensureSource(name: string): void {
  if (!source) source = new EventSource('/events');
  if (subscribed.has(name)) return;
  subscribed.add(name);
  source.addEventListener(name, (ev) => {
    const payload = JSON.parse((ev as MessageEvent<string>).data);
    for (const l of listeners.get(name) ?? []) l({ sender: null }, payload);
  });
}

export const ipcRenderer = {
  async invoke(channel: string, args: unknown): Promise<unknown> {
    const name = channel.startsWith(PREFIX) ? channel.slice(PREFIX.length) : channel;
    const res = await fetch(`/ipc/${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(args ?? {}),
    });
    if (!res.ok) throw new Error(`harness: HTTP ${res.status} for ${name}`);
    return res.json();
  },
  /** The preload's grant of dropped paths: a synchronous POST /grant-dropped to the test server. */
  sendSync(channel: string, args: unknown): unknown {
    const name = channel.startsWith(PREFIX) ? channel.slice(PREFIX.length) : channel;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/${encodeURIComponent(name)}`, false);
    xhr.setRequestHeader('content-type', 'application/json');
    xhr.send(JSON.stringify(args ?? null));
    return xhr.status === 200;
  },
  on(channel: string, listener: Listener): void {
    const name = channel.startsWith(PREFIX) ? channel.slice(PREFIX.length) : channel;
    let set = listeners.get(name);
    if (!set) listeners.set(name, (set = new Set()));
    set.add(listener);
    ensureSource(name);
  },
  removeListener(channel: string, listener: Listener): void {
    const name = channel.startsWith(PREFIX) ? channel.slice(PREFIX.length) : channel;
    listeners.get(name)?.delete(listener);
  },
};

export const contextBridge = {
  exposeInMainWorld(key: string, api: unknown): void {
    g[key] = api;
  },
};

export const webUtils = {
  getPathForFile(file: File): string {
    const f = file as File & { __path?: string };
    return f.__path ?? '';
  },
};

export default { ipcRenderer, contextBridge, webUtils };
