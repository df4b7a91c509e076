/**
 * This machine's measured CPU peak and the denoiser's achieved GFLOP/s (issue 19, item 2; never a test):
 *   npx tsx bench/cpu-peak.ts [--reps 5] [--models natural-x4] [--extra <file.onnx>] [--json out.json] [--md out.md]
 *
 * 1. Peak: a big MatMul (1024³) and two big 3×3 Convs (128→128 channels at 64², 256→256 at 32²), float32, built with the
 *    onnx Python package into a temp folder (bench/cpu_peak_models.py), run by onnxruntime-node with
 *    1 and 2 intra-op threads → GFLOP/s (2 × multiply-accumulates / wall time of one run); the peak at t
 *    threads is the best of these cases at t threads.
 * 2. Achieved: the models' denoisers (one 128² call at batch 1 and at batch 4, the engine's tile
 *    batch), with their FLOPs from bench/onnx_flops.py → GFLOP/s and % of the peak at the same
 *    thread count. `--extra` adds another denoiser file (e.g. an int8 QDQ export) on the same inputs.
 * Every case is run interleaved round-robin in one process (rep r runs each case once before rep r+1),
 * so machine noise hits all of them; the table gives the best and the median of the reps. Sessions
 * are opened with the engine's options (graph optimisation 'all', no spinning threads).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const args = process.argv.slice(2);
const arg = (k: string, d?: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const REPS = Number(arg('--reps', '5'));
const modelIds = (arg('--models', 'natural-x4') ?? '').split(',').filter(Boolean);
const extras = args.flatMap((a, i) => (a === '--extra' ? [args[i + 1]] : []));
const jsonOut = arg('--json');
const mdOut = arg('--md');
const PY = '/usr/bin/python3';
const here = path.dirname(new URL(import.meta.url).pathname);

interface Case {
  name: string;
  kind: 'peak' | 'denoiser';
  file: string;
  threads: number;
  gflop: number;
  feeds: Record<string, ort.Tensor>;
  session?: ort.InferenceSession;
  ms: number[];
}

async function open(file: string, threads: number) {
  return ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}

function filled(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.sin(i * 0.37 + seed) * 0.8;
  return d;
}

function denoiserFeeds(b: number, T: number): Record<string, ort.Tensor> {
  const s = [b, 3, T, T];
  return {
    x_t: new ort.Tensor('float32', filled(s, 1), s),
    cond: new ort.Tensor('float32', filled(s, 2), s),
    gamma: new ort.Tensor('float32', new Float32Array(b).fill(0.5), [b]),
  };
}

function flopsOf(file: string, batch: number, size: number): number {
  const out = execFileSync(PY, [path.join(here, 'onnx_flops.py'), file, '--batch', String(batch), '--size', String(size), '--json'], { encoding: 'utf8' });
  return JSON.parse(out).gflops as number;
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const load0 = loadavg()[0];
  const tmp = mkdtempSync(path.join(tmpdir(), 'daguerre-cpu-peak-'));
  try {
    const built = JSON.parse(execFileSync(PY, [path.join(here, 'cpu_peak_models.py'), tmp], { encoding: 'utf8' })) as {
      name: string;
      file: string;
      input: string;
      shape: number[];
      gflop: number;
    }[];
    const cases: Case[] = [];
    for (const threads of [1, 2]) {
      for (const b of built) {
        cases.push({ name: b.name, kind: 'peak', file: b.file, threads, gflop: b.gflop, feeds: { [b.input]: new ort.Tensor('float32', filled(b.shape, 3), b.shape) }, ms: [] });
      }
      const dens: { name: string; file: string }[] = [];
      for (const id of modelIds) {
        const dir = path.join(here, '..', 'models', id);
        const card = JSON.parse(readFileSync(path.join(dir, 'card.json'), 'utf8'));
        dens.push({ name: id, file: path.join(dir, card.files.denoiser) });
      }
      for (const f of extras) {
        if (!existsSync(f)) throw new Error(`--extra ${f}: no such file`);
        dens.push({ name: path.basename(path.dirname(f)) + '/' + path.basename(f), file: f });
      }
      for (const d of dens) {
        for (const b of [1, 4]) {
          cases.push({ name: `${d.name} 128² batch ${b}`, kind: 'denoiser', file: d.file, threads, gflop: flopsOf(d.file, b, 128), feeds: denoiserFeeds(b, 128), ms: [] });
        }
      }
    }
    for (const c of cases) {
      c.session = await open(c.file, c.threads);
      await c.session.run(c.feeds); // warm-up
      await c.session.run(c.feeds);
    }
    for (let r = 0; r < REPS; r++) {
      for (const c of cases) {
        const t0 = performance.now();
        await c.session!.run(c.feeds);
        c.ms.push(performance.now() - t0);
      }
    }
    /** Peak at t threads: the best GFLOP/s of any microbenchmark case at t threads. */
    const peak = (t: number) => Math.max(...cases.filter((x) => x.kind === 'peak' && x.threads === t).map((c) => c.gflop / (Math.min(...c.ms) / 1000)));
    const rows = cases.map((c) => {
      const best = Math.min(...c.ms);
      const med = median(c.ms);
      return {
        name: c.name,
        kind: c.kind,
        threads: c.threads,
        gflop: c.gflop,
        msBest: best,
        msMedian: med,
        gflopsBest: c.gflop / (best / 1000),
        gflopsMedian: c.gflop / (med / 1000),
        ofPeak: c.gflop / (best / 1000) / peak(c.threads),
      };
    });
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', node: process.version, ort: ort.env.versions?.common ?? '?', loadavg1: [load0, loadavg()[0]] };
    const date = new Date().toISOString();
    const f = (x: number, d: number) => x.toFixed(d);
    const md = [
      `CPU peak and achieved GFLOP/s (\`npx tsx bench/cpu-peak.ts\`, ${date}, ${machine.cpus}× ${machine.cpuModel}, ${REPS} interleaved reps; FLOPs = 2 × MACs of Conv/MatMul/Gemm; 1-min load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)})`,
      '',
      '| case | threads | GFLOP / run | best ms | median ms | GFLOP/s (best) | GFLOP/s (median) | of peak |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${r.name} | ${r.threads} | ${f(r.gflop, 3)} | ${f(r.msBest, 2)} | ${f(r.msMedian, 2)} | ${f(r.gflopsBest, 1)} | ${f(r.gflopsMedian, 1)} | ${f(100 * r.ofPeak, 0)} % |`),
    ].join('\n');
    process.stdout.write(md + '\n');
    if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ date, machine, reps: REPS, rows }, null, 2) + '\n');
    if (mdOut) writeFileSync(mdOut, md + '\n');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`cpu-peak: ${(e as Error).message}\n`);
  process.exit(1);
});
