/**
 * The preload on its own (Node, electron mocked): exactly the contract's channels and events pass,
 * everything else is refused without reaching ipcRenderer; paths of dropped files; media base.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { IPC_PREFIX, channels, eventNames, type DaguerreApi } from '../../src/shared/contract';

const calls: { channel: string; args: unknown }[] = [];
const listeners = new Map<string, Set<(e: unknown, p: unknown) => void>>();
let exposed: { key: string; api: DaguerreApi } | null = null;

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: DaguerreApi) => (exposed = { key, api }) },
  ipcRenderer: {
    invoke: async (channel: string, args: unknown) => {
      calls.push({ channel, args });
      if (channel === `${IPC_PREFIX}settings.get`) throw new Error('window is closing');
      return { ok: true, value: channel };
    },
    on: (ch: string, l: (e: unknown, p: unknown) => void) => {
      if (!listeners.has(ch)) listeners.set(ch, new Set());
      listeners.get(ch)!.add(l);
    },
    removeListener: (ch: string, l: (e: unknown, p: unknown) => void) => listeners.get(ch)?.delete(l),
  },
  webUtils: {
    getPathForFile: (f: { path?: string }) => {
      if (!f.path) throw new Error('not a file');
      return f.path;
    },
  },
}));

describe('preload', () => {
  let api: DaguerreApi;
  beforeAll(async () => {
    await import('../../src/preload/index');
    api = exposed!.api;
  });

  it('exposes window.daguerre, frozen, with the app media base', () => {
    expect(exposed!.key).toBe('daguerre');
    expect(Object.isFrozen(api)).toBe(true);
    expect(api.mediaBase).toBe('daguerre://media/');
    expect(typeof api.platform).toBe('string');
  });

  it('forwards every contract channel under the prefix, and nothing else', async () => {
    for (const ch of Object.keys(channels)) {
      if (ch === 'settings.get') continue;
      const r = await api.invoke(ch as never, {} as never);
      expect(r).toEqual({ ok: true, value: IPC_PREFIX + ch });
    }
    const n = calls.length;
    for (const bad of ['', 'library', 'constructor', '__proto__', 'toString', 'daguerre:library.list', 'shell.openExternal']) {
      const r = await api.invoke(bad as never, {} as never);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('BAD_ARGS');
    }
    expect(calls.length).toBe(n);
  });

  it('turns a transport failure into an error result, never a throw', async () => {
    const r = await api.invoke('settings.get', {});
    expect(r).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'window is closing' } });
  });

  it('subscribes to contract events only, and unsubscribes', () => {
    const got: unknown[] = [];
    for (const e of eventNames) {
      const off = api.on(e, (p) => got.push([e, p]));
      for (const l of listeners.get(IPC_PREFIX + e) ?? []) l({}, { x: 1 });
      off();
      expect(listeners.get(IPC_PREFIX + e)?.size ?? 0).toBe(0);
    }
    expect(got).toHaveLength(eventNames.length);
    const off = api.on('app.quit' as never, () => {});
    expect(typeof off).toBe('function');
    expect(listeners.has(`${IPC_PREFIX}app.quit`)).toBe(false);
  });

  it('maps dropped files to paths, skipping items without a file on disk', () => {
    expect(api.pathsForFiles([{ path: '/photos/a.jpg' }, {}, { path: '/photos/b' }])).toEqual(['/photos/a.jpg', '/photos/b']);
    expect(api.pathsForFiles([])).toEqual([]);
  });
});
