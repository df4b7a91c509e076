/**
 * The app's core, free of Electron: library, queue, engine host, settings and the IPC handlers.
 * The Electron glue (src/main/electron/*), the CLI and the browser test server all run this.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { channels, isChannel, type Channel, type ChannelReturns, type ErrorCode, type EventName, type EventPayloads, type IpcResult, type ParsedArgs } from '../shared/contract';
import { isClassicMethod, type MethodInfo, type ModelInfo } from '../shared/types';
import { reachableScales } from '../shared/card';
import { Catalogue, listPackages } from '../engine/catalogue';
import { acquireLibraryLock, openDatabase, stmt, type DB } from './db';
import { Library } from './library';
import { JobQueue } from './queue';
import { EngineClient, forkNodeHost, type HostSpawner } from './engine-client';
import { nodeSettingsStore, type SettingsStore } from './settings';
import { recordSamples, speedSamples, withSpeed } from './speed';
import { FaceError, FaceFinder } from './faces';
import { enlargementLimitReason } from '../engine/image-io';
import { oneLine } from '../engine/errors';
import { sameFile } from '../engine/safe-fs';
import { sweepStaleTemps } from '../engine/safe-fs';
import { maskHandlers, MaskError, repairProblem } from './repair';

export interface Dialogs {
  openPhotos(folders: boolean): Promise<string[]>;
  saveResult(defaultName: string, format: string): Promise<string | null>;
  reveal(path: string): void;
}

export interface CoreOptions {
  dataDir: string;
  modelDirs?: string[];
  settings?: SettingsStore;
  grantedRoots?: string[];
  dialogs?: Dialogs;
  spawnHost?: HostSpawner;
  /** Start the queue worker (default true). */
  startQueue?: boolean;
}

export class HandlerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type Handler<C extends Channel> = (args: ParsedArgs<C>) => Promise<ChannelReturns[C]> | ChannelReturns[C];
type Handlers = { [C in Channel]: Handler<C> };

export interface Core {
  dispatch(channel: string, args: unknown): Promise<IpcResult<unknown>>;
  onEvent(cb: (name: EventName, payload: unknown) => void): () => void;
  grant(p: string): void;
  isGranted(p: string): boolean;
  mediaFile(kind: 'original' | 'thumb' | 'result', id: number): Promise<{ path: string; mime: string } | null>;
  readonly library: Library;
  readonly queue: JobQueue;
  readonly engine: EngineClient;
  readonly db: DB;
  readonly settings: SettingsStore;
  readonly modelDirs: string[];
  close(): Promise<void>;
}

export function defaultModelDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.DAGUERRE_MODELS) dirs.push(...process.env.DAGUERRE_MODELS.split(path.delimiter).filter(Boolean));
  const repoModels = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../models');
  if (fs.existsSync(repoModels)) dirs.push(repoModels);
  return dirs;
}

const MIME: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', avif: 'image/avif' };

function realOrResolved(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

export async function createCore(opts: CoreOptions): Promise<Core> {
  // One process owns a library at a time (throws LibraryLockError, exit code 2 in the CLI).
  const lock = acquireLibraryLock(opts.dataDir);
  let db: DB;
  try {
    db = openDatabase(path.join(opts.dataDir, 'library.sqlite'));
  } catch (e) {
    lock.release();
    throw e;
  }
  const library = new Library(db, opts.dataDir);
  // Temp files a crash left behind: our own pattern only, whose writer is gone or that are over 10 min old.
  for (const d of [library.resultsDir, library.thumbsDir]) await sweepStaleTemps(d).catch(() => []);
  const settings = opts.settings ?? (await nodeSettingsStore(opts.dataDir));
  const engine = new EngineClient(opts.spawnHost ?? forkNodeHost);
  const modelDirs = opts.modelDirs ?? defaultModelDirs();
  const queue = new JobQueue(db, library, engine, { modelDirs, settings: () => settings.get() });
  const faceFinder = new FaceFinder(db, engine);
  const roots = new Set<string>((opts.grantedRoots ?? []).map(realOrResolved));
  const listeners = new Set<(name: EventName, payload: unknown) => void>();
  const emit = <E extends EventName>(name: E, payload: EventPayloads[E]) => {
    for (const l of listeners) l(name, payload);
  };
  queue.on('progress', (job) => emit('job.progress', job));
  queue.on('finished', (job, result) => {
    // Learn this computer's denoiser speed before anyone asks models.list again.
    if (result && job.state === 'done') {
      try {
        const samples = speedSamples(result);
        if (samples.length) settings.setSpeed(recordSamples(settings.getSpeed(), samples));
      } catch {
        /* a speed estimate is best-effort; never fail a finished job over it */
      }
    }
    emit('job.finished', { job, result });
    if (result) emit('library.changed', { reason: 'result' });
  });
  queue.on('batchFinished', (b) => emit('jobs.batchFinished', b));

  const isGranted = (p: string) => {
    const real = realOrResolved(p);
    for (const r of roots) {
      const rel = path.relative(r, real);
      if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return true;
    }
    return false;
  };
  const grant = (p: string) => void roots.add(realOrResolved(p));

  /** The card's reference speed (metrics.msPerCall128) per model id. */
  const cardSpeed = new Map<string, number | null>();
  let modelsCache: { at: number; list: ModelInfo[] } | null = null;
  /** Whether `portrait` has a face package ('face-blind' or 'face'), as the engine picks it. */
  let faceInstalled = false;
  async function listModels(): Promise<ModelInfo[]> {
    if (modelsCache && Date.now() - modelsCache.at < 30_000) return modelsCache.list;
    let list: ModelInfo[] = [];
    try {
      // Cards only (schema, files present): the main process never opens an onnxruntime session (or loads
      // onnxruntime) to list models; a package whose ONNX cannot be opened fails its restore with the reason.
      const found = listPackages(modelDirs);
      faceInstalled = !!Catalogue.of(found).face();
      list = found.map((m) =>
        m.ok && m.card
          ? {
              id: m.id,
              ok: true,
              task: m.card.task,
              version: m.card.version,
              scales: reachableScales(m.card),
              trainedOn: m.card.trainedOn,
              knob: m.card.sampler.knob,
              coarseSteps: m.card.sampler.coarseSteps,
              fineSteps: m.card.sampler.fineSteps,
              fixedStrideCalls: m.card.sampler.fixedStrideCalls,
              fixedStrideCallsPerN: m.card.sampler.fixedStrideCallsPerN,
              hasPolicy: !!m.card.files.policy,
              tile: m.card.tile,
            }
          : { id: m.id, ok: false, error: m.error ?? 'invalid package' },
      );
      cardSpeed.clear();
      for (const m of found) {
        const v = m.ok ? m.card?.metrics?.msPerCall128 : undefined;
        cardSpeed.set(m.id, typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);
      }
    } catch (e) {
      list = [];
      void e;
    }
    modelsCache = { at: Date.now(), list };
    return list;
  }

  const need = <T>(x: T | null | undefined, what: string): T => {
    if (x === null || x === undefined) throw new HandlerError('NOT_FOUND', `${what} not found`);
    return x;
  };

  const handlers: Handlers = {
    'library.list': (a) => library.list(a),
    'library.get': (a) => need(library.get(a.id), `photo ${a.id}`),
    'library.import': async (a) => {
      const bad = a.paths.filter((p) => !path.isAbsolute(p) || !isGranted(p));
      if (bad.length) throw new HandlerError('FORBIDDEN_PATH', `not a file or folder you chose: ${bad[0]}${bad.length > 1 ? ` (and ${bad.length - 1} more)` : ''}`);
      const report = await library.import(a.paths);
      if (report.imported.length) emit('library.changed', { reason: 'import' });
      return report;
    },
    'library.remove': async (a) => {
      for (const j of queue.list(['queued', 'running'])) if (a.ids.includes(j.photoId)) queue.cancel(j.id);
      const removed = await library.remove(a.ids);
      if (removed) emit('library.changed', { reason: 'remove' });
      return { removed };
    },
    'library.reveal': (a) => {
      const p = need(library.get(a.id), `photo ${a.id}`);
      if (!opts.dialogs) throw new HandlerError('UNSUPPORTED', 'revealing files needs the desktop app');
      opts.dialogs.reveal(p.path);
      return { path: p.path };
    },
    'library.setPrefs': (a) => {
      const p = need(library.setPrefs(a.id, a.prefs), `photo ${a.id}`);
      emit('library.changed', { reason: 'prefs' });
      return p;
    },
    'results.list': (a) => {
      need(library.get(a.photoId), `photo ${a.photoId}`);
      return library.listResults(a.photoId);
    },
    'results.get': (a) => need(library.getResult(a.id), `result ${a.id}`),
    'results.delete': async (a) => {
      need(library.getResult(a.id), `result ${a.id}`);
      const deleted = await library.deleteResult(a.id);
      emit('library.changed', { reason: 'result' });
      return { deleted };
    },
    'results.export': async (a) => {
      const r = need(library.getResult(a.id), `result ${a.id}`);
      if (!path.isAbsolute(a.path) || !isGranted(path.dirname(a.path))) throw new HandlerError('FORBIDDEN_PATH', `not a place you chose to save to: ${a.path}`);
      if (a.path.includes('\0')) throw new HandlerError('BAD_ARGS', `export path contains a NUL byte: ${JSON.stringify(a.path)}`);
      const photo = library.get(r.photoId);
      const originals = (stmt(db, 'SELECT path FROM photos').all() as { path: string }[]).map((x) => x.path);
      if (originals.some((o) => sameFile(a.path, o) || realOrResolved(a.path) === realOrResolved(o))) throw new HandlerError('FORBIDDEN_PATH', `refusing to overwrite an imported original: ${a.path}`);
      if (fs.existsSync(a.path)) {
        if (fs.statSync(a.path).isDirectory()) throw new HandlerError('BAD_ARGS', `${a.path} is a folder; choose a file name`);
        if (!a.overwrite) throw new HandlerError('CONFLICT', `${a.path} exists; choose another name or allow overwrite`);
      }
      const { probeImage, decodeImage, encodeImage } = await import('../engine/image-io');
      const src = await decodeImage(r.outputPath);
      let meta = null;
      if (a.keepMetadata && photo && fs.existsSync(photo.path)) meta = await probeImage(photo.path).catch(() => null);
      const { bytes } = await encodeImage(src.rgb, src.alpha, meta ? { ...meta, file: photo!.path } : null, a.path, { format: a.format, quality: a.quality, keepMetadata: a.keepMetadata });
      return { path: a.path, bytes };
    },
    'jobs.enqueue': async (a) => {
      for (const id of a.photoIds) {
        const p = need(library.get(id), `photo ${id}`);
        const tooLarge = enlargementLimitReason(p.width, p.height, a.params.scale);
        if (tooLarge) throw new HandlerError('BAD_ARGS', `${p.name}: ${tooLarge}`);
        if (a.params.region) {
          const r = a.params.region;
          if (r.x >= p.width || r.y >= p.height) throw new HandlerError('BAD_ARGS', `${p.name}: preview region lies outside the image`);
        }
        const off = a.params.faces?.findIndex((b) => b.x >= p.width || b.y >= p.height) ?? -1;
        if (off >= 0) throw new HandlerError('BAD_ARGS', `${p.name}: face ${off + 1} lies outside the image (${p.width}×${p.height})`);
      }
      const bad = await repairProblem(a.params.repair, a.photoIds.map((id) => library.get(id)!), (p) => isGranted(p) || library.ownsFile(p));
      if (bad) throw new HandlerError(bad.code, bad.message);
      if (a.params.method === 'portrait') {
        await listModels();
        if (!faceInstalled) throw new HandlerError('UNSUPPORTED', 'portrait needs a face model package (models/face-x8)');
      } else if (a.params.method !== 'auto' && !isClassicMethod(a.params.method)) {
        const m = (await listModels()).find((x) => x.id === a.params.method);
        if (!m) throw new HandlerError('BAD_ARGS', `unknown method "${a.params.method}"`);
        if (!m.ok) throw new HandlerError('UNSUPPORTED', `model "${m.id}" cannot be used: ${m.error}`);
      }
      return queue.enqueue(a.photoIds, a.params);
    },
    'jobs.cancel': (a) => need(queue.cancel(a.id), `job ${a.id}`),
    'jobs.cancelBatch': (a) => ({ cancelled: queue.cancelBatch(a.batchId) }),
    'jobs.retry': (a) => need(queue.retry(a.id), `job ${a.id}`),
    'jobs.list': (a) => queue.list(a.states, a.limit),
    'jobs.clearFinished': () => ({ cleared: queue.clearFinished() }),
    'settings.get': () => settings.get(),
    'settings.set': (a) => {
      if (a.patch.outputDir && !path.isAbsolute(a.patch.outputDir)) throw new HandlerError('BAD_ARGS', 'output folder must be an absolute path');
      // A key sent as undefined means no change (it used to reach the schema and answer INTERNAL).
      return settings.set(Object.fromEntries(Object.entries(a.patch).filter(([, v]) => v !== undefined)) as never);
    },
    'models.list': async () => {
      const table = settings.getSpeed();
      const { provider, precision } = settings.get();
      return (await listModels()).map((m) => withSpeed(m, cardSpeed.get(m.id), table, provider, precision ?? 'fp32'));
    },
    ...maskHandlers(library, () => emit('library.changed', { reason: 'prefs' })),
    'faces.detect': async (a) => {
      const p = need(library.get(a.photoId), `photo ${a.photoId}`);
      const natural = a.scale ? (await listModels()).some((m) => m.ok && m.task === 'natural' && (m.scales ?? []).includes(a.scale!)) : undefined;
      try {
        return await faceFinder.detect(p, natural);
      } catch (e) {
        if (e instanceof FaceError) throw new HandlerError(e.code, e.message);
        throw e;
      }
    },
    'methods.list': async () => {
      const models = await listModels();
      const out: MethodInfo[] = [
        { id: 'auto', label: 'Auto (best model for the photo)', kind: 'auto', scales: [2, 4, 8] },
        { id: 'lanczos', label: 'Lanczos (classic)', kind: 'classic', scales: [2, 4, 8] },
        { id: 'bicubic', label: 'Bicubic (classic)', kind: 'classic', scales: [2, 4, 8] },
      ];
      if (faceInstalled) {
        out.push({ id: 'portrait', label: 'Portrait (faces restored by the face model, the rest enlarged)', kind: 'diffusion', scales: [2, 4, 8] });
      }
      for (const m of models) if (m.ok) out.push({ id: m.id, label: `${m.id} (${m.task}, ${m.trainedOn}-trained)`, kind: 'diffusion', scales: m.scales ?? [] });
      return out;
    },
    'dialog.openPhotos': async (a) => {
      if (!opts.dialogs) throw new HandlerError('UNSUPPORTED', 'file dialogs need the desktop app');
      const paths = await opts.dialogs.openPhotos(a.folders);
      for (const p of paths) grant(p);
      return { paths };
    },
    'dialog.saveResult': async (a) => {
      const r = need(library.getResult(a.id), `result ${a.id}`);
      if (!opts.dialogs) throw new HandlerError('UNSUPPORTED', 'file dialogs need the desktop app');
      const name = path.basename(r.outputPath).replace(/^\d+_/, '').replace(/\.[^.]+$/, a.format === 'jpeg' ? '.jpg' : `.${a.format}`);
      const p = await opts.dialogs.saveResult(name, a.format);
      if (p) grant(path.dirname(p));
      return { path: p };
    },
  };

  async function dispatch(channel: string, args: unknown): Promise<IpcResult<unknown>> {
    if (!isChannel(channel)) return { ok: false, error: { code: 'BAD_ARGS', message: `unknown channel "${String(channel).slice(0, 64)}"` } };
    const parsed = channels[channel].safeParse(args ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path?.length ? issue.path.join('.') : 'arguments';
      return { ok: false, error: { code: 'BAD_ARGS', message: `${channel}: invalid ${where}: ${issue?.message ?? 'bad value'}` } };
    }
    try {
      const value = await (handlers[channel] as (a: unknown) => unknown)(parsed.data);
      return { ok: true, value };
    } catch (e) {
      if (e instanceof HandlerError || e instanceof MaskError) return { ok: false, error: { code: e.code, message: e.message } };
      return { ok: false, error: { code: 'INTERNAL', message: oneLine(e) } };
    }
  }

  async function mediaFile(kind: 'original' | 'thumb' | 'result', id: number): Promise<{ path: string; mime: string } | null> {
    if (!Number.isInteger(id) || id <= 0) return null;
    if (kind === 'thumb') {
      const p = library.thumbPath(id);
      return fs.existsSync(p) ? { path: p, mime: 'image/webp' } : null;
    }
    if (kind === 'result') {
      const r = library.getResult(id);
      if (!r || !fs.existsSync(r.outputPath)) return null;
      const ext = path.extname(r.outputPath).slice(1).toLowerCase();
      return { path: r.outputPath, mime: MIME[ext === 'jpg' ? 'jpeg' : ext] ?? 'application/octet-stream' };
    }
    const p = library.get(id);
    if (!p || !fs.existsSync(p.path)) return null;
    if (MIME[p.format]) return { path: p.path, mime: MIME[p.format] };
    // Formats a browser cannot show (TIFF, HEIF): a cached PNG rendition in the library folder.
    const disp = path.join(opts.dataDir, 'display', `${id}.png`);
    if (!fs.existsSync(disp)) {
      fs.mkdirSync(path.dirname(disp), { recursive: true });
      await sharp(p.path).rotate().png().toFile(disp);
    }
    return { path: disp, mime: 'image/png' };
  }

  if (opts.startQueue !== false) queue.start();

  return {
    dispatch,
    onEvent(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    grant,
    isGranted,
    mediaFile,
    library,
    queue,
    engine,
    db,
    settings,
    modelDirs,
    async close() {
      queue.stop();
      await engine.close();
      db.close();
      lock.release();
    },
  };
}
