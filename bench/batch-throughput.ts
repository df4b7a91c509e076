/**
 * Batch throughput of `daguerre restore` on a folder of small photos (issue 19, item 3; never a test):
 *   npx tsx bench/batch-throughput.ts [--n 200] [--size 48] [--scale 4] [--method auto] [--threads 2]
 *       [--modes 1,2] [--parts 4] [--warmup 4] [--src ../shared/data/natural/train-hr] [--json out.json] [--md out.md]
 *       [-- <extra restore args>]
 *
 * Makes `--n` small JPEG photos (q 90; centre-ish crops of the photos in `--src`, resized so the long
 * side is `--size` px, every other one 4:3) in a temp folder, then restores every photo once per mode
 * with the CLI as a child process (`node bin/daguerre.mjs restore <in> -o <out> --scale … --method …
 * --library <tmp>`), each mode its own library and output folder. A mode is the queue's pipeline
 * depth (DAGUERRE_PIPELINE): 1 = one job at a time (before issue 19.3), 2 = two in flight on the one
 * engine host (the default since). The folder is cut into `--parts` sub-folders and the modes take
 * turns on them in ABBA order (part 1: 1 then 2, part 2: 2 then 1, …), so a change of the machine's
 * load during the run falls on both modes alike; before them each mode restores `--warmup` other photos
 * once, unmeasured (tsx's compile cache, the page cache, first session opening). While a CLI runs, /proc is polled every 100 ms for
 * its whole process tree: resident memory (sum over the tree; the peak is reported) and CPU time
 * (user + system). Reports per mode photos per minute, mean seconds per photo, peak RSS and the mean
 * core use (CPU seconds / wall seconds / cores: 1.0 = every core busy the whole time), and checks that
 * every mode wrote byte-identical outputs.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

const argv = process.argv.slice(2);
const dd = argv.indexOf('--');
const args = dd >= 0 ? argv.slice(0, dd) : argv;
const extra = dd >= 0 ? argv.slice(dd + 1) : [];
const arg = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const N = Number(arg('--n', '200'));
const SIZE = Number(arg('--size', '48'));
const scale = arg('--scale', '4');
const method = arg('--method', 'auto');
const threads = arg('--threads', String(cpus().length));
const src = arg('--src', '../shared/data/natural/train-hr');
const modes = arg('--modes', '1,2').split(',').map(Number);
const parts = Number(arg('--parts', '4'));
const warmup = Number(arg('--warmup', '4'));
const jsonOut = args.includes('--json') ? arg('--json', '') : null;
const mdOut = args.includes('--md') ? arg('--md', '') : null;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const TICK = 100;
const CLK = 100; // USER_HZ on Linux

function children(): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid)!.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return kids;
}

function tree(pid: number): number[] {
  const kids = children();
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(kids.get(p) ?? []));
  }
  return out;
}

function sample(pid: number, cpu: Map<number, number>): number {
  let rss = 0;
  for (const p of tree(pid)) {
    try {
      const st = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      cpu.set(p, (Number(f[11]) + Number(f[12])) / CLK); // utime + stime of this process
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) rss += Number(m[1]) * 1024;
    } catch {
      /* exited between listing and reading */
    }
  }
  return rss;
}

async function makePhotos(dir: string, n = N, skip = 0): Promise<void> {
  const files = readdirSync(src).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  if (!files.length) throw new Error(`${src}: no photos`);
  for (let i = 0; i < n; i++) {
    const f = path.join(src, files[(i + skip) % files.length]);
    const meta = await sharp(f).metadata();
    const W = meta.width!;
    const H = meta.height!;
    // a different region for each pass over the source list
    const side = Math.min(W, H, 256);
    const k = Math.floor(i / files.length);
    const x = Math.min(W - side, Math.floor(((k * 0.37) % 1) * (W - side)));
    const y = Math.min(H - side, Math.floor(((k * 0.61) % 1) * (H - side)));
    const w = SIZE;
    const h = i % 2 ? Math.round((SIZE * 3) / 4) : SIZE;
    await sharp(f).extract({ left: x, top: y, width: side, height: side }).resize(w, h, { fit: 'cover' }).jpeg({ quality: 90 }).toFile(path.join(dir, `p${String(i).padStart(4, '0')}.jpg`));
  }
}

interface Run {
  mode: number;
  part: number;
  photos: number;
  wallS: number;
  cpuS: number;
  peakRss: number;
  loadavg1: [number, number];
  /** From the CLI's --json summary: photos per method, and the provider and precision decisions. */
  methods: Record<string, number>;
  provider: unknown;
  precision: unknown;
}

/** One CLI run on `inDir` with pipeline depth `mode`; /proc polled for its process tree. */
async function runCli(mode: number, part: number, inDir: string, outDir: string, lib: string): Promise<Run & { cli: string[] }> {
  const cli = ['bin/daguerre.mjs', 'restore', inDir, '-o', outDir, '--scale', scale, '--method', method, '--threads', threads, '--library', lib, '--json', ...extra];
  const load0 = loadavg()[0];
  const t0 = performance.now();
  const child = spawn(process.execPath, cli, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DAGUERRE_PIPELINE: String(mode) } });
  let stdout = '';
  child.stdout.on('data', (b) => (stdout += b));
  let stderr = '';
  child.stderr.on('data', (b) => (stderr = (stderr + b).slice(-4000)));
  const cpu = new Map<number, number>();
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, sample(child.pid!, cpu));
  }, TICK);
  const code: number = await new Promise((res) => child.on('exit', (c) => res(c ?? 1)));
  clearInterval(timer);
  const wallS = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`restore (pipeline ${mode}) exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const photos = outputs(outDir).length;
  const cpuS = [...cpu.values()].reduce((a, b) => a + b, 0);
  const summary = JSON.parse(stdout) as { provider?: unknown; precision?: unknown; files: { method?: string }[] };
  const methods: Record<string, number> = {};
  for (const f of summary.files) if (f.method) methods[f.method] = (methods[f.method] ?? 0) + 1;
  process.stderr.write(`pipeline ${mode}, ${part < 0 ? 'warm-up' : `part ${part + 1}/${parts}`}: ${photos} photos in ${wallS.toFixed(1)} s (${((photos / wallS) * 60).toFixed(1)} / min), peak RSS ${(peak / 2 ** 20).toFixed(0)} MB, load ${load0.toFixed(1)}\n`);
  return { mode, part, photos, wallS, cpuS, peakRss: peak, loadavg1: [load0, loadavg()[0]], methods, provider: summary.provider ?? null, precision: summary.precision ?? null, cli };
}

function outputs(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => /\.(png|jpe?g|webp)$/i.test(f))
      .sort();
  } catch {
    return [];
  }
}

async function main() {
  const tmp = mkdtempSync(path.join(tmpdir(), 'daguerre-batch-'));
  try {
    const all = path.join(tmp, 'all');
    mkdirSync(all);
    await makePhotos(all);
    // the parts: p0000… cut into `parts` folders of consecutive photos
    const names = readdirSync(all).sort();
    const partDirs = Array.from({ length: parts }, (_, k) => path.join(tmp, `in${k}`));
    partDirs.forEach((d) => mkdirSync(d));
    names.forEach((n, i) => renameSync(path.join(all, n), path.join(partDirs[Math.floor((i * parts) / names.length)], n)));
    if (warmup > 0) {
      // other photos than the measured ones (the source list from the far end), each mode once, not counted
      const warm = path.join(tmp, 'warm');
      mkdirSync(warm);
      await makePhotos(warm, warmup, Math.max(N, readdirSync(src).length - warmup));
      for (const m of modes) await runCli(m, -1, warm, path.join(tmp, `warm-out-${m}`), path.join(tmp, `warm-lib-${m}`));
    }
    const load0 = loadavg()[0];
    const runs: (Run & { cli: string[] })[] = [];
    for (let k = 0; k < parts; k++) {
      const order = k % 2 ? [...modes].reverse() : modes;
      for (const m of order) runs.push(await runCli(m, k, partDirs[k], path.join(tmp, `out-p${m}`, `part${k}`), path.join(tmp, `lib-p${m}-${k}`)));
    }
    // every mode's outputs, byte for byte, against the first mode's
    const ref = path.join(tmp, `out-p${modes[0]}`);
    const refFiles = outputs(ref);
    const identical: Record<string, { compared: number; identical: number }> = {};
    for (const m of modes.slice(1)) {
      const dir = path.join(tmp, `out-p${m}`);
      const files = outputs(dir);
      let same = 0;
      for (const f of refFiles) if (files.includes(f) && readFileSync(path.join(ref, f)).equals(readFileSync(path.join(dir, f)))) same++;
      identical[String(m)] = { compared: refFiles.length, identical: same };
    }
    const cores = cpus().length;
    const byMode = modes.map((m) => {
      const rs = runs.filter((r) => r.mode === m);
      const photos = rs.reduce((a, r) => a + r.photos, 0);
      const wallS = rs.reduce((a, r) => a + r.wallS, 0);
      const cpuS = rs.reduce((a, r) => a + r.cpuS, 0);
      return {
        pipeline: m,
        photos,
        wallS,
        photosPerMin: (photos / wallS) * 60,
        sPerPhoto: wallS / photos,
        peakRssMB: Math.max(...rs.map((r) => r.peakRss)) / 2 ** 20,
        cpuS,
        coreUse: cpuS / wallS / cores,
        cpuSPerPhoto: cpuS / photos,
        methods: rs.reduce<Record<string, number>>((a, r) => {
          for (const [k, v] of Object.entries(r.methods)) a[k] = (a[k] ?? 0) + v;
          return a;
        }, {}),
        runs: rs.map((r) => ({ part: r.part, photos: r.photos, wallS: r.wallS, photosPerMin: (r.photos / r.wallS) * 60, peakRssMB: r.peakRss / 2 ** 20, coreUse: r.cpuS / r.wallS / cores, loadavg1: r.loadavg1 })),
      };
    });
    const anon = (s: string) => s.split(tmp).join('<tmp>');
    const res = {
      date: new Date().toISOString(),
      machine: { cpus: cores, cpuModel: cpus()[0]?.model ?? '?', node: process.version, loadavg1: [load0, loadavg()[0]] },
      photos: N,
      parts,
      warmup,
      lrSize: `${SIZE}x${SIZE} and ${SIZE}x${Math.round((SIZE * 3) / 4)} JPEG q90`,
      command: anon(`DAGUERRE_PIPELINE=<mode> node ${runs[0].cli.join(' ')}`).replace(/in0\b/, 'in<part>').replace(/out-p\d+\/part0/, 'out-p<mode>/part<part>').replace(/lib-p\d+-0/, 'lib-p<mode>-<part>'),
      modes: byMode,
      identicalOutputs: identical,
      provider: runs[0].provider,
      precision: runs[0].precision,
    };
    const label = (m: number) => (m === 1 ? 'pipeline 1: one at a time (before issue 19.3)' : `pipeline ${m}: ${m} in flight, one in onnxruntime (the default)`);
    const base = byMode.find((b) => b.pipeline === 1);
    const md = [
      `Batch throughput (\`npx tsx bench/batch-throughput.ts\`, ${res.date}, ${cores}× ${res.machine.cpuModel}, 1-min load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)})`,
      '',
      `${res.command}`,
      '',
      `${N} photos (${res.lrSize}) in ${parts} parts; the modes took turns on the parts (ABBA), each mode restored every photo once, after an unmeasured warm-up of ${warmup} other photos per mode.`,
      '',
      '| mode | photos | photos / min | s / photo | vs one at a time | peak RSS (MB, process tree) | core use | CPU s / photo | methods |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...byMode.map(
        (b) =>
          `| ${label(b.pipeline)} | ${b.photos} | ${b.photosPerMin.toFixed(1)} | ${b.sPerPhoto.toFixed(2)} | ${base ? `${(b.photosPerMin / base.photosPerMin).toFixed(2)}×` : '–'} | ${b.peakRssMB.toFixed(0)} | ${(100 * b.coreUse).toFixed(0)} % | ${b.cpuSPerPhoto.toFixed(2)} | ${Object.entries(b.methods).map(([k, v]) => `${k} ${v}`).join(', ')} |`,
      ),
      '',
      `Provider: ${JSON.stringify(res.provider)}; precision: ${JSON.stringify(res.precision)} (the CLI's --json summary of the first run).`,
      '',
      'Runs, in the order they ran:',
      '',
      '| run | mode | part | photos | s | photos / min | peak RSS (MB) | core use | load average (start → end) |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...runs.map((r, i) => `| ${i + 1} | ${r.mode} | ${r.part + 1} | ${r.photos} | ${r.wallS.toFixed(1)} | ${((r.photos / r.wallS) * 60).toFixed(1)} | ${(r.peakRss / 2 ** 20).toFixed(0)} | ${((100 * r.cpuS) / r.wallS / cores).toFixed(0)} % | ${r.loadavg1[0].toFixed(1)} → ${r.loadavg1[1].toFixed(1)} |`),
      '',
      ...Object.entries(identical).map(([m, v]) => `Outputs of pipeline ${m} byte-identical to pipeline ${modes[0]}'s: ${v.identical} of ${v.compared}.`),
    ].join('\n');
    process.stdout.write(md + '\n');
    if (jsonOut) writeFileSync(jsonOut, JSON.stringify(res, null, 2) + '\n');
    if (mdOut) writeFileSync(mdOut, md + '\n');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`batch-throughput: ${(e as Error).message}\n`);
  process.exit(1);
});
