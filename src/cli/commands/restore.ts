/**
 * `daguerre restore <files or folders...>`: the same library, queue and engine host as the app.
 * Folders are walked recursively and mirrored under the output folder; outputs that exist are
 * skipped; every failure is one line naming the file; the exit code is 1 when any file failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { createCore } from '../../main/core';
import { LibraryLockError } from '../../main/db';
import { expandInputs } from '../../main/library';
import { memorySettingsStore } from '../../main/settings';
import { defaultLibraryDir } from '../lib/paths';
import { keepShard, resolveShard, shardLibraryDir, type Shard } from '../lib/shard';
import type { PrecisionSetting, ProviderSetting, RepairRecord, RestoreParams, Scale } from '../../shared/types';
import { parsePrecisionSetting, type ChoiceInfo, type PrecisionChoice } from '../../engine/catalogue';
import type { PortraitFaceInfo, PortraitInfo } from '../../engine/faces/portrait';
import { repairProblem } from '../../main/repair';
import { enlargementLimitReason, probeImage, type EncodeFormat } from '../../engine/image-io';
import { errLine, printable } from '../lib/terminal';
import { sweepStaleTemps } from '../../engine/safe-fs';

interface RestoreOpts {
  output: string;
  scale: string;
  method: string;
  sampler?: string;
  fidelity: string;
  /** commander's --no-faces */
  faces?: boolean;
  seed: string;
  format: string;
  quality: string;
  threads?: string;
  json?: boolean;
  library?: string;
  overwrite?: boolean;
  shard?: string;
  shardCount?: string;
  provider?: string;
  precision?: string;
  repair?: string;
  repairMask?: string;
}

interface FileOutcome {
  input: string;
  output: string | null;
  status: 'done' | 'skipped' | 'failed';
  error?: string;
  ms?: number;
  calls?: number;
  method?: string;
  splitN?: number | null;
  fineLevelsRun?: number[];
  /** The engine's provider decision (setting, provider, self-test, fallback reason) for a model restore. */
  providerChoice?: ChoiceInfo;
  /** Which denoiser ran (fp32 or int8) and why, for a model restore (info.precision). */
  precision?: PrecisionChoice;
  /** The faces found and restored (methods portrait and auto), as the library's result records them; absent when none were looked for. */
  faces?: FacesSummary;
  /** Damage repair done: the mask's source and file, the damaged fraction and pixels (null: none asked). */
  repair?: RepairRecord | null;
}

/**
 * Where each input goes: a folder argument keeps its own name and inner tree under `outDir`, a file goes
 * straight into it as `<stem>_x<scale>.<ext>`. Distinct inputs always get distinct outputs: when two
 * inputs would share one (`x.jpg` and `x.png` in one folder), each of them keeps its source extension
 * in the name (`x_jpg_x2.png`, `x_png_x2.png`), and a clash that remains gets a number. Names are
 * compared case-insensitively (macOS and Windows folders). The whole plan is made before any work.
 */
export function planOutputs(roots: string[], files: string[], outDir: string, scale: number, format: EncodeFormat): Map<string, string> {
  const ext = format === 'jpeg' ? '.jpg' : `.${format}`;
  const absRoots = roots.map((r) => path.resolve(r));
  const isDir = (r: string) => {
    try {
      return fs.statSync(r).isDirectory();
    } catch {
      return false;
    }
  };
  const rels = files.map((f) => {
    const root = absRoots.find((r) => f.startsWith(r + path.sep) && isDir(r));
    const rel = root ? path.join(path.basename(root), path.relative(root, f)) : path.basename(f);
    const srcExt = path.extname(rel);
    return { f, base: rel.slice(0, rel.length - srcExt.length), srcExt: srcExt.slice(1).toLowerCase() };
  });
  const plain = (r: (typeof rels)[number]) => path.join(outDir, `${r.base}_x${scale}${ext}`);
  const count = new Map<string, number>();
  for (const r of rels) count.set(plain(r).toLowerCase(), (count.get(plain(r).toLowerCase()) ?? 0) + 1);
  const map = new Map<string, string>();
  const taken = new Set<string>();
  for (const r of rels) {
    let out = plain(r);
    if (count.get(out.toLowerCase())! > 1) out = path.join(outDir, `${r.base}${r.srcExt ? `_${r.srcExt}` : ''}_x${scale}${ext}`);
    for (let k = 2; taken.has(out.toLowerCase()); k++) out = path.join(outDir, `${r.base}${r.srcExt ? `_${r.srcExt}` : ''}_${k}_x${scale}${ext}`);
    taken.add(out.toLowerCase());
    map.set(r.f, out);
  }
  return map;
}

function parseNum(v: string, name: string, min: number, max: number, int = false): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) throw new Error(`--${name} must be ${int ? 'an integer' : 'a number'} from ${min} to ${max} (got "${v}")`);
  return n;
}

interface FacesSummary {
  found: number;
  restored: number;
  /** The face package and the background (a natural package or 'lanczos'); null when auto kept its pick (no face restorable). */
  faceModel: string | null;
  background: string | null;
  /** Each face portrait saw, in input pixels: restored, or why not (too small, large, excluded, not a face…). */
  list: (Pick<PortraitFaceInfo, 'box' | 'restored' | 'reason' | 'fidelity'> & { framePx?: number })[];
}

/** A result's faces (info.portrait of a portrait restore, else the counts of auto's look, info.autoFaces). */
export function facesSummary(info: Record<string, unknown>): FacesSummary | undefined {
  const p = info.portrait as Partial<Pick<PortraitInfo, 'faces' | 'faceModel' | 'background'>> | undefined;
  if (p && Array.isArray(p.faces)) {
    const list = p.faces.map((f) => ({ box: f.box, restored: f.restored, ...(f.reason ? { reason: f.reason } : {}), ...(f.fidelity !== undefined ? { fidelity: f.fidelity } : {}), ...(f.framePx !== undefined ? { framePx: f.framePx } : {}) }));
    return { found: list.length, restored: list.filter((f) => f.restored).length, faceModel: p.faceModel ?? null, background: p.background ?? null, list };
  }
  const a = info.autoFaces as { found?: number } | undefined;
  if (a && typeof a.found === 'number') return { found: a.found, restored: 0, faceModel: null, background: null, list: [] };
  return undefined;
}

/** The precision setting and each distinct decision the engine made (which denoiser ran, and why). */
function precisionSummary(setting: PrecisionSetting, outcomes: FileOutcome[]): { setting: PrecisionSetting; choices: PrecisionChoice[] } {
  const seen = new Map<string, PrecisionChoice>();
  for (const x of outcomes) if (x.precision) seen.set(JSON.stringify(x.precision), x.precision);
  return { setting, choices: [...seen.values()] };
}

/** The provider setting and each distinct decision the engine made (self-test, fallback reason). */
function providerSummary(setting: ProviderSetting, outcomes: FileOutcome[]): { setting: ProviderSetting; choices: ChoiceInfo[] } {
  const seen = new Map<string, ChoiceInfo>();
  for (const x of outcomes) if (x.providerChoice) seen.set(JSON.stringify(x.providerChoice), x.providerChoice);
  return { setting, choices: [...seen.values()] };
}

export function registerRestoreCommand(program: Command): void {
  program
    .command('restore')
    .description('restore and enlarge photos (files or folders, recursive)')
    .argument('<inputs...>', 'image files or folders')
    .option('-o, --output <dir>', 'output folder (folder inputs are mirrored inside it)', 'restored')
    .option('-s, --scale <n>', 'enlargement: 2, 4 or 8', '4')
    .option('-m, --method <id>', 'auto | bicubic | lanczos | a model id (see `daguerre models`)', 'auto')
    .option('--sampler <id>', 'skipdiff | ddpm:<k> | ddim:<k> | csa | fixed:<calls>', 'skipdiff')
    .option('--no-faces', "with --method auto: don't look for faces (auto restores small faces with the face model when it finds any)")
    .option('-f, --fidelity <0..1>', '0 = most faithful, 1 = most detailed', '0.5')
    .option('--seed <n>', 'random seed (same seed, same output)', '0')
    .option('--format <fmt>', 'png | jpeg | webp', 'png')
    .option('--quality <1..100>', 'JPEG/WebP quality', '92')
    .option('--threads <n>', 'CPU threads for the engine')
    .option('--library <dir>', 'library folder (default: the app’s)')
    .option('--overwrite', 'redo files whose output exists (default: skip them)')
    .option('--provider <p>', 'execution provider: auto | cpu | webgpu | dml | coreml | cuda (a GPU that fails its self-test falls back to cpu)', 'auto')
    .option('--precision <p>', 'denoiser precision: auto (int8 on the cpu provider when the model ships an int8 denoiser that passed its quality gate, else fp32) | fp32 | int8', 'auto')
    .option('--shard <i/n>', 'restore only shard i (0-based) of n, by a stable hash of each path (cluster array jobs; also SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)')
    .option('--shard-count <n>', 'number of shards, with JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or to override SLURM_ARRAY_TASK_COUNT')
    .option('--repair <how>', 'damage repair (scratches, cracks, dust): auto (= detect: find the damage automatically) | off | <mask.png or folder> (= --repair-mask); default: the mask painted for the photo in the app, if any')
    .option('--repair-mask <file|dir>', 'damage repair with your mask (white = damaged, the photo\'s size or shape); a folder: <dir>/<photo name>.mask.png per photo')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (inputs: string[], o: RestoreOpts, cmd: Command) => {
      const code = await runRestoreCommand(inputs, o);
      cmd.parent!.setOptionValue('exitCode', code);
    });
}

export async function runRestoreCommand(inputs: string[], o: RestoreOpts): Promise<number> {
  const log = errLine;
  let scale: Scale, fidelity: number, seed: number, quality: number, shard: Shard | null, provider: ProviderSetting, precision: PrecisionSetting;
  try {
    const s = parseNum(o.scale, 'scale', 2, 8, true);
    if (![2, 4, 8].includes(s)) throw new Error(`--scale must be 2, 4 or 8 (got "${o.scale}")`);
    scale = s as Scale;
    fidelity = parseNum(o.fidelity, 'fidelity', 0, 1);
    seed = parseNum(o.seed, 'seed', 0, 2 ** 32 - 1, true);
    quality = parseNum(o.quality, 'quality', 1, 100, true);
    if (!['png', 'jpeg', 'webp'].includes(o.format)) throw new Error(`--format must be png, jpeg or webp (got "${o.format}")`);
    shard = resolveShard(o);
    provider = (await import('../../engine/providers')).parseProviderSetting(o.provider ?? 'auto');
    precision = parsePrecisionSetting(o.precision ?? 'auto');
    // --repair auto|detect|off|<mask file or folder>: auto = detect; any other value is a mask, as --repair-mask.
    if (o.repair === 'auto') o.repair = 'detect';
    else if (o.repair !== undefined && !['detect', 'off'].includes(o.repair)) {
      if (!fs.existsSync(o.repair)) throw new Error(`--repair ${o.repair}: not auto, detect or off, and no such mask file or folder`);
      if (o.repairMask !== undefined) throw new Error('--repair <mask> and --repair-mask exclude each other');
      o.repairMask = o.repair;
      o.repair = undefined;
    }
    if (o.repairMask !== undefined && o.repair === 'detect') throw new Error('--repair detect and --repair-mask exclude each other');
    if (o.repairMask !== undefined && !fs.existsSync(o.repairMask)) throw new Error(`--repair-mask ${o.repairMask}: no such file or folder`);
  } catch (e) {
    log(`daguerre: ${(e as Error).message}`);
    return 2;
  }
  const format = o.format as EncodeFormat;
  const outDir = path.resolve(o.output);
  const { files, failed: missing } = await expandInputs(inputs);
  keepShard(files, inputs, shard);
  if (shard && !o.library) o.library = shardLibraryDir(outDir, shard);
  const plan = planOutputs(inputs, files, outDir, scale, format);
  const outcomes: FileOutcome[] = missing.map((m) => ({ input: m.path, output: null, status: 'failed', error: m.error }));
  for (const m of missing) log(`error: ${m.error}`);

  const settings = memorySettingsStore({ outputQuality: quality, provider, precision, ...(o.threads ? { threads: parseNum(o.threads, 'threads', 1, 256, true) } : {}) });
  let core: Awaited<ReturnType<typeof createCore>>;
  try {
    core = await createCore({ dataDir: o.library ? path.resolve(o.library) : defaultLibraryDir(), settings, grantedRoots: [...inputs, ...(o.repairMask ? [o.repairMask] : [])].map((i) => path.resolve(i)), startQueue: false });
  } catch (e) {
    if (!(e instanceof LibraryLockError)) throw e;
    // Another process owns the library, or it cannot be written: nothing was done.
    if (o.json) process.stdout.write(JSON.stringify({ error: { code: e.code, message: e.message } }, null, 2) + '\n');
    log(`daguerre: ${e.message}`);
    return e.exitCode;
  }
  const t0 = Date.now();
  try {
    // Temp files a killed run left in the output folders (our own pattern only).
    for (const d of new Set([...plan.values()].map((o) => path.dirname(o)))) if (fs.existsSync(d)) await sweepStaleTemps(d).catch(() => []);
    const todo: string[] = [];
    const inputSet = new Set(files.map((f) => path.resolve(f)));
    for (const f of files) {
      const out = plan.get(f)!;
      if (inputSet.has(path.resolve(out))) {
        const which = path.resolve(out) === path.resolve(f) ? 'the input' : `another input (${out})`;
        outcomes.push({ input: f, output: null, status: 'failed', error: `${f}: output would replace ${which}; choose another --output` });
        continue;
      }
      // An output a crashed run wrote but never recorded is redone, not skipped as done.
      if (!o.overwrite && fs.existsSync(out) && !core.queue.unrecordedOutput(out)) {
        outcomes.push({ input: f, output: out, status: 'skipped' });
        continue;
      }
      // Refuse what the queue would refuse, from the header alone, before import decodes a thumbnail of it.
      const tooLarge = await probeImage(f).then((m) => enlargementLimitReason(m.width, m.height, scale), () => null);
      if (tooLarge) {
        outcomes.push({ input: f, output: null, status: 'failed', error: `${f}: ${tooLarge}` });
        log(`error: ${f}: ${tooLarge}`);
        continue;
      }
      todo.push(f);
    }
    const skipped = outcomes.filter((x) => x.status === 'skipped').length;
    if (skipped && !o.json) log(`${skipped} file(s) already done, skipped (use --overwrite to redo)`);

    const report = todo.length ? await core.library.import(todo) : { imported: [], duplicates: [], failed: [] };
    const idFor = new Map<string, number>();
    for (const p of report.imported) idFor.set(p.path, p.id);
    for (const d of report.duplicates) idFor.set(d.path, d.existingId);
    for (const f of report.failed) {
      outcomes.push({ input: f.path, output: null, status: 'failed', error: f.error });
      log(`error: ${f.error}`);
    }
    const params: RestoreParams = { scale, method: o.method, sampler: o.sampler, fidelity, seed, format, ...(o.faces === false ? { autoFaces: false } : {}), ...(o.repair === 'detect' || o.repair === 'off' ? { repair: o.repair } : {}) };
    // --repair-mask: one mask for every input, or a folder with <stem>.mask.png per input; checked per file before any work.
    const maskDir = o.repairMask && fs.statSync(o.repairMask).isDirectory() ? path.resolve(o.repairMask) : null;
    const maskFor = (f: string) => (maskDir ? path.join(maskDir, `${path.basename(f, path.extname(f))}.mask.png`) : o.repairMask ? path.resolve(o.repairMask) : null);
    const paramsFor = new Map<string, RestoreParams>();
    for (const f of todo.filter((x) => idFor.has(x))) {
      const mask = maskFor(f);
      if (!mask) {
        paramsFor.set(f, params);
        continue;
      }
      const photo = core.library.get(idFor.get(f)!)!;
      const bad = fs.existsSync(mask) ? await repairProblem({ mask }, [photo], () => true) : { message: `no damage mask ${mask}` };
      if (bad) {
        const error = `${f}: ${bad.message.startsWith(`${photo.name}: `) ? bad.message.slice(photo.name.length + 2) : bad.message}`;
        outcomes.push({ input: f, output: null, status: 'failed', error });
        log(`error: ${error}`);
        idFor.delete(f);
        continue;
      }
      paramsFor.set(f, { ...params, repair: { mask } });
    }
    const byJob = new Map<number, string>();
    const ordered = todo.filter((f) => idFor.has(f));
    const bar = !o.json && process.stderr.isTTY ? new (await import('cli-progress')).SingleBar({ format: ' {bar} {percentage}% | {done}/{total} | {file} {detail} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: false }, (await import('cli-progress')).Presets.shades_classic) : null;
    if (ordered.length) {
      // One job per input file, so a photo imported twice (same content) still gets both outputs.
      for (const f of ordered) {
        const { jobs } = core.queue.enqueue([idFor.get(f)!], paramsFor.get(f)!, { batchId: 'cli', outputPath: () => plan.get(f)! });
        byJob.set(jobs[0].id, f);
      }
      // {done}: whole files finished (the bar's value also counts the running files' fractions)
      bar?.start(ordered.length, 0, { file: '', detail: '', done: 0 });
      let finished = 0;
      // The queue keeps up to two jobs in flight (issue 19.3): the bar counts the finished ones plus each
      // running one's fraction, and names the oldest running job (the one inside the engine, or writing).
      const running = new Map<number, { fraction: number; file: string; detail: string }>();
      core.queue.on('progress', (j) => {
        const f = byJob.get(j.id);
        if (!f || !bar) return;
        if (j.state !== 'running') {
          // queued again (an engine crash re-runs it): no longer counted as under way
          running.delete(j.id);
          return;
        }
        const p = j.progress;
        const detail = p.tile ? `tile ${p.tile.i}/${p.tile.n}${p.step ? ` step ${p.step.k}/${p.step.K}` : ''}` : (p.message ?? '');
        running.set(j.id, { fraction: Math.min(0.999, p.fraction), file: printable(path.basename(f)), detail });
        const first = running.get(Math.min(...running.keys()))!;
        bar.update(Math.min(ordered.length, finished + [...running.values()].reduce((a, x) => a + x.fraction, 0)), { file: first.file, detail: first.detail, done: finished });
      });
      core.queue.on('finished', (j, r) => {
        const f = byJob.get(j.id);
        if (!f) return;
        running.delete(j.id);
        finished++;
        bar?.update(finished + [...running.values()].reduce((a, x) => a + x.fraction, 0), { file: printable(path.basename(f)), detail: j.state, done: finished });
        if (j.state === 'done' && r) {
          outcomes.push({ input: f, output: r.outputPath, status: 'done', ms: r.durationMs, calls: r.calls, method: r.method, splitN: r.splitN, fineLevelsRun: r.info.fineLevelsRun as number[] | undefined, providerChoice: r.info.providerChoice as ChoiceInfo | undefined, precision: r.info.precision as PrecisionChoice | undefined, faces: facesSummary(r.info), repair: r.repair });
          const af = r.info.autoFaces as { restorable: number } | undefined;
          const how = `${r.method}${(r.info.precision as PrecisionChoice | undefined)?.precision === 'int8' ? ' (int8)' : ''}${af && af.restorable ? `, ${af.restorable} face${af.restorable > 1 ? 's' : ''} by the face model` : ''}${r.repair ? `, ${r.repair.pixels} damaged px repaired (${r.repair.source === 'file' ? 'mask' : 'detected'})` : ''}`;
          if (!bar && !o.json) log(`done: ${f} -> ${r.outputPath} (${how}, ${r.durationMs} ms${r.calls ? `, ${r.calls} denoiser calls` : ''})`);
        } else {
          const err = j.error ?? j.state;
          outcomes.push({ input: f, output: null, status: 'failed', error: err.includes(f) ? err : `${f}: ${err.replace(/^[^:]*: /, '')}` });
          if (bar) bar.stop();
          log(`error: ${outcomes[outcomes.length - 1].error}`);
          if (bar) bar.start(ordered.length, finished, { file: '', detail: '', done: finished });
        }
      });
      core.queue.restrictTo(byJob.keys());
      core.queue.start();
      await core.queue.idle(24 * 3600_000);
      bar?.stop();
    }
  } finally {
    await core.close();
  }
  const done = outcomes.filter((x) => x.status === 'done').length;
  const failed = outcomes.filter((x) => x.status === 'failed').length;
  const skipped = outcomes.filter((x) => x.status === 'skipped').length;
  if (o.json) {
    process.stdout.write(JSON.stringify({ output: outDir, scale, method: o.method, sampler: o.sampler, fidelity, seed, provider: providerSummary(provider, outcomes), precision: precisionSummary(precision, outcomes), shard: shard ? { index: shard.index, count: shard.count, source: shard.source, library: o.library } : null, done, skipped, failed, ms: Date.now() - t0, files: outcomes }, null, 2) + '\n');
  } else {
    log(`${done} done, ${skipped} skipped, ${failed} failed → ${outDir}`);
  }
  return failed ? 1 : 0;
}
