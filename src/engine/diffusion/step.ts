/**
 * The whole step on the device (issue 19 item 1): one onnxruntime run per batched call of the fused
 * step graph (stepgraph.ts) instead of the denoiser alone, so the move between levels (ancestral or
 * DDIM), the x̂₀ estimate and its clip run on the provider with the network; JS only writes five
 * coefficients per lane and, with host noise, the lane's normals.
 *
 *   step 'js'            the denoiser alone; every per-element step in JS (samplers.ts): the CPU path
 *   step 'device'        fused, noise drawn by each lane's own rng (the CPU path's numbers): output
 *                        equal to 'js' up to float32 rounding of the step arithmetic
 *   step 'device-noise'  fused, noise from the counter-based generator in the graph, keyed per
 *                        (seed, tile stream, move): no per-element JS work at all; a different (equally
 *                        valid) sample from 'js', the same bytes twice on one provider and machine
 *   'auto'               'device' when the package's sessions run on a provider other than the CPU
 *                        (and no repair mask is given), else 'js'
 *
 * The step sessions are opened on first use, from the denoiser's bytes, with the package's own
 * providers and threads, and cached per package and noise kind (`stepSession`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { inSlotOrder, type Counters } from './denoiser';
import type { ModelPackage } from './models';
import type { Lane } from './samplers';
import { buildStepGraph, COEF, deviceNoiseKey, STEP_IO, type StepNoise } from './stepgraph';

export type StepSetting = 'auto' | 'js' | 'device' | 'device-noise';
export type StepMode = Exclude<StepSetting, 'auto'>;
export const STEP_SETTINGS: readonly StepSetting[] = ['auto', 'js', 'device', 'device-noise'];

/** What `setting` means for this package (see the header); repair runs its jumps in JS, so 'js'. */
export function resolveStep(setting: StepSetting, model: ModelPackage, repair: boolean): { mode: StepMode; reason: string } {
  if (!STEP_SETTINGS.includes(setting)) throw new RangeError(`step must be one of ${STEP_SETTINGS.join(', ')}: ${String(setting)}`);
  const provider = model.providers[0] ?? 'cpu';
  const contract = model.card.io.denoiser.inputs.length === 3 && model.card.io.denoiser.outputs.length === 1;
  if (setting === 'js') return { mode: 'js', reason: 'asked for' };
  if (setting === 'auto') {
    if (provider === 'cpu') return { mode: 'js', reason: 'auto: cpu provider' };
    if (repair) return { mode: 'js', reason: 'auto: damage repair runs its jumps in JS' };
    if (!contract) return { mode: 'js', reason: 'auto: the denoiser has other inputs than x_t, cond, gamma' };
    return { mode: 'device', reason: `auto: ${provider} provider` };
  }
  if (repair) throw new RangeError(`step '${setting}' cannot be combined with damage repair (its jumps run in JS): use 'js' or 'auto'`);
  if (!contract) throw new RangeError(`step '${setting}': the denoiser of "${model.id}" has other inputs than x_t, cond, gamma`);
  return { mode: setting, reason: 'asked for' };
}

const sessions = new WeakMap<ModelPackage, Map<StepNoise, Promise<ort.InferenceSession>>>();

/** The package's step session for `noise`, opened once (same providers and threads as its denoiser). */
export function stepSession(model: ModelPackage, noise: StepNoise): Promise<ort.InferenceSession> {
  let m = sessions.get(model);
  if (!m) sessions.set(model, (m = new Map()));
  let p = m.get(noise);
  if (!p) {
    p = (async () => {
      // The file the package's denoiser session was opened from (an int8 package opens files.denoiserInt8).
      const int8 = (model as { precision?: string }).precision === 'int8';
      const file = int8 ? model.card.files.denoiserInt8 : model.card.files.denoiser;
      if (!file) throw new Error(`model "${model.id}": no denoiser file for its precision`);
      const bytes = await readFile(join(model.dir, file));
      const graph = buildStepGraph(bytes, model.card.io.denoiser, noise);
      return ort.InferenceSession.create(graph, {
        intraOpNumThreads: model.threads,
        interOpNumThreads: 1,
        executionProviders: model.providers as ort.InferenceSession.ExecutionProviderConfig[],
        graphOptimizationLevel: 'all',
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
    })();
    m.set(noise, p);
    p.catch(() => m!.delete(noise));
  }
  return p;
}

/** Release the package's step sessions (if any were opened). */
export async function releaseStepSessions(model: ModelPackage): Promise<void> {
  const m = sessions.get(model);
  if (!m) return;
  sessions.delete(model);
  for (const p of m.values()) await (await p.catch(() => null))?.release();
}

export interface FusedDenoiser {
  xSlot(i: number): Float32Array;
  x0Slot(i: number): Float32Array;
  condSlot(i: number): Float32Array;
  beginBatch(): void;
  /**
   * Lanes `members` (all at level ᾱ = ab after their pending moves): each lane's pending move, the
   * denoiser and x̂₀ in one onnxruntime run; writes lanes[m].x (now at ab) and lanes[m].x0.
   */
  run(lanes: readonly Lane[], members: readonly number[], ab: number): Promise<void>;
}

/** The fused step of `session` (from stepSession) over `lanes` tiles of th×tw. */
export function makeFusedDenoiser(model: ModelPackage, session: ort.InferenceSession, noise: StepNoise, g: { lanes: number; tw: number; th: number }, counters: Counters): FusedDenoiser {
  const [inX, inC, inG] = model.card.io.denoiser.inputs;
  const { lanes: B, tw, th } = g;
  const chw = 3 * tw * th;
  const buf = () => new Float32Array(B * chw);
  const xB = buf();
  const x0B = buf();
  const cB = buf();
  const zB = noise === 'host' ? buf() : null;
  const gB = new Float32Array(B);
  const coef = new Float32Array(B * COEF.count);
  const keys = new Uint32Array(B * 3);
  const slot = (b: Float32Array, i: number) => b.subarray(i * chw, (i + 1) * chw);
  const xs = Array.from({ length: B }, (_, i) => slot(xB, i));
  const x0s = Array.from({ length: B }, (_, i) => slot(x0B, i));
  const conds = Array.from({ length: B }, (_, i) => slot(cB, i));
  // Gathered copies for calls on a subset of the lanes (FSR under a policy).
  let gx: Float32Array | null = null;
  let gx0: Float32Array | null = null;
  let gc: Float32Array | null = null;
  let lastGathered = '';
  const fetches = [inX, STEP_IO.x0Out];
  const tensors = new Map<string, Record<string, ort.Tensor>>();
  const feedsFor = (b: number, gathered: boolean) => {
    const key = `${b}${gathered ? 'g' : ''}`;
    let f = tensors.get(key);
    if (!f) {
      const img = (a: Float32Array) => new ort.Tensor('float32', a.subarray(0, b * chw), [b, 3, th, tw]);
      f = {
        [STEP_IO.x]: img(gathered ? gx! : xB),
        [STEP_IO.x0]: img(gathered ? gx0! : x0B),
        [inC]: img(gathered ? gc! : cB),
        [inG]: new ort.Tensor('float32', gB.subarray(0, b), [b]),
        [STEP_IO.coef]: new ort.Tensor('float32', coef.subarray(0, b * COEF.count), [b, COEF.count, 1, 1]),
        ...(zB ? { [STEP_IO.z]: img(zB) } : { [STEP_IO.key]: new ort.Tensor('uint32', keys.subarray(0, b * 3), [b, 3]) }),
      };
      tensors.set(key, f);
    }
    return f;
  };
  return {
    xSlot: (i) => xs[i],
    x0Slot: (i) => x0s[i],
    condSlot: (i) => conds[i],
    beginBatch() {
      lastGathered = '';
    },
    async run(lanes, members, ab) {
      const b = members.length;
      const identity = inSlotOrder(members);
      if (!identity) {
        gx ??= buf();
        gx0 ??= buf();
        gc ??= buf();
        const key = members.join(',');
        for (let i = 0; i < b; i++) {
          const l = lanes[members[i]];
          gx.set(l.x, i * chw);
          gx0.set(l.x0, i * chw);
        }
        if (key !== lastGathered) {
          for (let i = 0; i < b; i++) gc.set(conds[members[i]], i * chw);
          lastGathered = key;
        }
      }
      const a = 1 / Math.sqrt(ab);
      const bb = Math.sqrt(1 - ab) / Math.sqrt(ab);
      for (let i = 0; i < b; i++) {
        const l = lanes[members[i]];
        const p = l.pending;
        const o = i * COEF.count;
        coef[o + COEF.c0] = p ? p.c0 : 0;
        coef[o + COEF.c1] = p ? p.c1 : 1;
        coef[o + COEF.sigma] = p ? p.sigma : 0;
        coef[o + COEF.a] = a;
        coef[o + COEF.b] = bb;
        if (p?.draws) {
          if (zB) l.rng.fillNormal(slot(zB, i));
          else keys.set(deviceNoiseKey(l.noise.seed, l.noise.stream, l.noise.moves++), i * 3);
        }
        l.pending = null;
      }
      gB.fill(Math.sqrt(ab), 0, b);
      const t0 = performance.now();
      const res = await session.run(feedsFor(b, !identity), fetches);
      counters.msOnnx += performance.now() - t0;
      const xo = res[inX].data as Float32Array;
      const x0o = res[STEP_IO.x0Out].data as Float32Array;
      for (let i = 0; i < b; i++) {
        const l = lanes[members[i]];
        l.x.set(xo.subarray(i * chw, (i + 1) * chw));
        l.x0.set(x0o.subarray(i * chw, (i + 1) * chw));
      }
      counters.onnxRuns++;
      counters.calls += b;
    },
  };
}
