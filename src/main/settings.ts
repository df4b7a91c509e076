/**
 * Settings: a small interface over electron-store (in the app) or conf (CLI and tests; electron-store
 * is built on conf, same file format). Values are validated against the contract's schema.
 */
import * as os from 'node:os';
import { SettingsSchema } from '../shared/contract';
import type { Settings } from '../shared/types';
import { parseSpeedTable, type SpeedTable } from './speed';

export interface SettingsStore {
  get(): Settings;
  set(patch: Partial<Settings>): Settings;
  /** Denoiser speeds measured by finished jobs (speed.ts). Kept beside the settings, not part of them. */
  getSpeed(): SpeedTable;
  setSpeed(table: SpeedTable): void;
}

/** The store key of the measured speeds (not a Settings field: the renderer neither sees nor sets it). */
export const SPEED_KEY = 'measuredSpeed';

export function defaultSettings(): Settings {
  return {
    threads: Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
    provider: 'auto',
    precision: 'auto',
    defaultFidelity: 0.5,
    defaultScale: 4,
    defaultMethod: 'auto',
    defaultSampler: 'skipdiff',
    outputDir: null,
    outputFormat: 'png',
    outputQuality: 92,
    keepMetadata: true,
    theme: 'system',
  };
}

/** Anything with conf's get/set/store (conf or electron-store). */
export interface ConfLike {
  store: Record<string, unknown>;
  set(key: string, value: unknown): void;
}

export function settingsFromConf(conf: ConfLike): SettingsStore {
  const read = (): Settings => {
    const merged = { ...defaultSettings(), ...conf.store };
    const parsed = SettingsSchema.safeParse(merged);
    // A damaged settings file falls back to defaults field by field, never blocks the app.
    if (parsed.success) return parsed.data as Settings;
    const d = defaultSettings() as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = { ...d };
    for (const [k, v] of Object.entries(merged)) {
      const one = (SettingsSchema.shape as Record<string, { safeParse(x: unknown): { success: boolean } }>)[k];
      if (one && one.safeParse(v).success) out[k] = v;
    }
    return out as unknown as Settings;
  };
  return {
    get: read,
    set(patch) {
      const next = SettingsSchema.parse({ ...read(), ...patch });
      for (const [k, v] of Object.entries(patch)) conf.set(k, (next as Record<string, unknown>)[k] ?? v);
      return read();
    },
    getSpeed: () => parseSpeedTable(conf.store[SPEED_KEY]),
    setSpeed(table) {
      conf.set(SPEED_KEY, parseSpeedTable(table));
    },
  };
}

/** conf-backed store for Node (CLI, tests): `<dir>/settings.json`. */
export async function nodeSettingsStore(dir: string): Promise<SettingsStore> {
  const Conf = (await import('conf')).default;
  const conf = new Conf({ projectName: 'daguerre', cwd: dir, configName: 'settings' });
  return settingsFromConf(conf as unknown as ConfLike);
}

export function memorySettingsStore(initial: Partial<Settings> = {}): SettingsStore {
  const store: Record<string, unknown> = { ...initial };
  return settingsFromConf({ store, set: (k, v) => void (store[k] = v) });
}
