/**
 * Batch throughput of `daguerre restore` on a folder of small photos (issue 19, item 3; never a test):
 *   npx tsx bench/batch-throughput.ts [--n 200] [--size 64] [--scale 4] [--method auto] [--threads 2]
 *       [--src ../shared/data/natural/train-hr] [--json out.json] [--md out.md] [-- <extra restore args>]
 *
 * Makes `--n` small JPEG photos (q 90; centre-ish crops of the photos in `--src`, resized so the long
 * side is `--size` px, every other one 4:3) in a temp folder, then runs the CLI once on the folder as
 * a child process (`node bin/daguerre.mjs restore <in> -o <out> --scale … --method … --library <tmp>`),
 * today's one-at-a-time path. While it runs, /proc is polled every 100 ms for the CLI's whole process
 * tree: resident memory (sum over the tree; the peak is reported) and CPU time (user + system).
 * Reports photos per minute, mean seconds per photo, peak RSS and the mean core use
 * (CPU seconds / wall seconds / cores: 1.0 = every core busy the whole time).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

const argv = process.argv.slice(2);
const dd = argv.indexOf('--');
const args = dd >= 0 ? argv.slice(0, dd) : argv;
const extra = dd >= 0 ? argv.slice(dd + 1) : [];
const arg = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const N = Number(arg('--n', '200'));
const SIZE = Number(arg('--size', '64'));
const scale = arg('--scale', '4');
const method = arg('--method', 'auto');
const threads = arg('--threads', String(cpus().length));
const src = arg('--src', '../shared/data/natural/train-hr');
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

async function makePhotos(dir: string): Promise<void> {
  const files = readdirSync(src).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  if (!files.length) throw new Error(`${src}: no photos`);
  for (let i = 0; i < N; i++) {
    const f = path.join(src, files[i % files.length]);
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

async function main() {
  const tmp = mkdtempSync(path.join(tmpdir(), 'daguerre-batch-'));
  try {
    const inDir = path.join(tmp, 'in');
    const outDir = path.join(tmp, 'out');
    mkdirSync(inDir);
    await makePhotos(inDir);
    const cli = ['bin/daguerre.mjs', 'restore', inDir, '-o', outDir, '--scale', scale, '--method', method, '--threads', threads, '--library', path.join(tmp, 'lib'), ...extra];
    const load0 = loadavg()[0];
    const t0 = performance.now();
    const child = spawn(process.execPath, cli, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
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
    if (code !== 0) throw new Error(`restore exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const outs = readdirSync(outDir, { recursive: true }).filter((f) => /\.(png|jpe?g|webp)$/i.test(String(f))).length;
    const cpuS = [...cpu.values()].reduce((a, b) => a + b, 0);
    const res = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', node: process.version, loadavg1: [load0, loadavg()[0]] },
      photos: N,
      outputs: outs,
      lrSize: `${SIZE}x${SIZE} and ${SIZE}x${Math.round((SIZE * 3) / 4)} JPEG q90`,
      command: `node ${cli.join(' ').replace(tmp, '<tmp>').replace(tmp, '<tmp>').replace(tmp, '<tmp>').replace(tmp, '<tmp>')}`,
      wallS,
      photosPerMin: (outs / wallS) * 60,
      sPerPhoto: wallS / outs,
      peakRssMB: peak / 2 ** 20,
      cpuS,
      coreUse: cpuS / wallS / cpus().length,
    };
    const md = [
      `Batch throughput (\`npx tsx bench/batch-throughput.ts\`, ${res.date}, ${res.machine.cpus}× ${res.machine.cpuModel}, 1-min load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)})`,
      '',
      `${res.command}`,
      '',
      '| path | photos | LR | photos / min | s / photo | peak RSS (MB, process tree) | core use |',
      '| --- | ---: | --- | ---: | ---: | ---: | ---: |',
      `| one at a time (today's CLI) | ${outs} | ${res.lrSize} | ${res.photosPerMin.toFixed(1)} | ${res.sPerPhoto.toFixed(2)} | ${res.peakRssMB.toFixed(0)} | ${(100 * res.coreUse).toFixed(0)} % |`,
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
