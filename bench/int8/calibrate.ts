/**
 * Activation ranges for the int8 QDQ build (bench/int8/quantize.py), from real tiles (never a test):
 *   npx tsx bench/int8/calibrate.ts --model models/natural-x4 --work <dir> --set <folder> --scale 4
 *       [--images 4] [--crop 256] [--batches 40] [--knob 0.5] [--seed 7]
 *
 * 1. Restores `--images` photos of `--set` (centre crop ≤ `--crop` HR px, degraded by the bench's
 *    protocol: antialiased bicubic down, uint8) with the engine (skipdiff at `--knob`), recording every
 *    denoiser feed (x_t, cond, gamma of each tile batch): the exact inputs the denoiser sees in use.
 * 2. Runs `<work>/calib.onnx` (the fp32 denoiser with every Conv's input and output as extra outputs,
 *    from `quantize.py prepare`) on `--batches` of those feeds, evenly spaced over the recording, and
 *    writes `<work>/ranges.json`: per tensor min, max and the 0.01 / 99.99 percentiles of a sample.
 * Use a calibration set that is not the evaluation set (natural: train-hr; faces: faces/train).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel, restoreDiffusion } from '../../src/engine/diffusion/index';
import { cropU8, u8ToF32 } from '../../src/engine/image';
import { cropToMultiple, degradeU8 } from '../../src/engine/metrics';
import { readImageU8 } from '../../src/engine/metrics/io';

const args = process.argv.slice(2);
const arg = (k: string, d?: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const need = (k: string) => arg(k) ?? (process.stderr.write(`calibrate: ${k} is required\n`), process.exit(2));
const modelDir = need('--model');
const work = need('--work');
const set = need('--set');
const scale = Number(need('--scale'));
const nImages = Number(arg('--images', '4'));
const crop = Number(arg('--crop', '256'));
const nBatches = Number(arg('--batches', '40'));
const knob = Number(arg('--knob', '0.5'));
const seed = Number(arg('--seed', '7'));
const SAMPLE_PER_BATCH = 4096;

type Feed = { x: Float32Array; c: Float32Array; g: Float32Array; dims: number[] };

async function main() {
  const model = await loadModel(modelDir, { threads: 2 });
  const recorded: Feed[] = [];
  const real = model.denoiser;
  const spy = new Proxy(real, {
    get(t, k, r) {
      if (k === 'run') {
        return async (feeds: Record<string, ort.Tensor>, ...rest: unknown[]) => {
          const x = feeds.x_t;
          recorded.push({ x: new Float32Array(x.data as Float32Array), c: new Float32Array(feeds.cond.data as Float32Array), g: new Float32Array(feeds.gamma.data as Float32Array), dims: [...x.dims] });
          return (t.run as (...a: unknown[]) => Promise<ort.InferenceSession.OnnxValueMapType>).call(t, feeds, ...rest);
        };
      }
      const v = Reflect.get(t, k, r);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  model.denoiser = spy as ort.InferenceSession;
  const files = readdirSync(set).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  if (!files.length) throw new Error(`${set}: no images`);
  const step = Math.max(1, Math.floor(files.length / nImages));
  const used: string[] = [];
  for (let i = 0; i < nImages && i * step < files.length; i++) {
    const f = files[i * step];
    let hr = await readImageU8(path.join(set, f));
    if (hr.channels !== 3) throw new Error(`${f}: ${hr.channels} channels (RGB expected)`);
    if (crop > 0 && (hr.width > crop || hr.height > crop)) {
      const w = Math.min(crop, hr.width);
      const h = Math.min(crop, hr.height);
      hr = cropU8(hr, { x: Math.floor((hr.width - w) / 2), y: Math.floor((hr.height - h) / 2), w, h });
    }
    hr = cropToMultiple(hr, scale);
    const lr = degradeU8(hr, scale);
    await restoreDiffusion(model, u8ToF32(lr), { scale, sampler: 'skipdiff', fidelity: knob, seed: seed + i });
    used.push(f);
  }
  model.denoiser = real;
  const pick: Feed[] = [];
  const n = Math.min(nBatches, recorded.length);
  for (let i = 0; i < n; i++) pick.push(recorded[Math.floor((i * recorded.length) / n)]);
  const { tensors } = JSON.parse(readFileSync(path.join(work, 'tensors.json'), 'utf8')) as { tensors: string[] };
  const calib = await ort.InferenceSession.create(path.join(work, 'calib.onnx'), { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  const st = new Map<string, { min: number; max: number; sample: number[] }>(tensors.map((t) => [t, { min: Infinity, max: -Infinity, sample: [] }]));
  let r = 12345;
  const rand = () => ((r = (r * 1103515245 + 12345) >>> 0) / 2 ** 32);
  let tiles = 0;
  for (const p of pick) {
    const out = await calib.run({
      x_t: new ort.Tensor('float32', p.x, p.dims),
      cond: new ort.Tensor('float32', p.c, p.dims),
      gamma: new ort.Tensor('float32', p.g, [p.dims[0]]),
    });
    tiles += p.dims[0];
    for (const t of tensors) {
      const d = out[t].data as Float32Array;
      const s = st.get(t)!;
      let lo = s.min;
      let hi = s.max;
      for (let i = 0; i < d.length; i++) {
        const v = d[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      s.min = lo;
      s.max = hi;
      for (let k = 0; k < SAMPLE_PER_BATCH; k++) s.sample.push(d[Math.floor(rand() * d.length)]);
    }
  }
  const ranges: Record<string, { min: number; max: number; p_lo: number; p_hi: number }> = {};
  for (const [t, s] of st) {
    const a = Float32Array.from(s.sample).sort();
    const q = (p: number) => a[Math.min(a.length - 1, Math.max(0, Math.round(p * (a.length - 1))))];
    ranges[t] = { min: s.min, max: s.max, p_lo: q(0.0001), p_hi: q(0.9999) };
  }
  writeFileSync(
    path.join(work, 'ranges.json'),
    JSON.stringify({ model: modelDir, set, images: used, scale, knob, recordedBatches: recorded.length, batches: pick.length, tiles, ranges }, null, 1) + '\n',
  );
  process.stdout.write(`calibrated ${tensors.length} tensors on ${pick.length} batches (${tiles} tile-calls) of ${recorded.length} recorded from ${used.length} images -> ${path.join(work, 'ranges.json')}\n`);
}

main().catch((e) => {
  process.stderr.write(`calibrate: ${(e as Error).message}\n`);
  process.exit(1);
});
