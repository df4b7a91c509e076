/**
 * The networks as batched functions, and what they cost:
 *
 *   makeDenoiser   ε for a set of lanes (tiles) at one level: one onnxruntime run over the batch
 *   makePolicyFn   the skip policy as samplers.ts's PolicyFn: one onnxruntime run per decision
 *   Counters       denoiser calls, runs and time, policy runs and time: one struct per pass,
 *                  summed over passes by the caller
 *
 * Batch buffers: lane i's x and cond live *in* slot i of the denoiser's x and cond buffers (`xSlot`,
 * `condSlot`), so a call on lanes 0 … b−1 (every call except FSR calls where only some tiles run)
 * feeds them without a copy; other member sets are gathered into a second pair of buffers. ε is read
 * straight from onnxruntime's output (lane.eps is a view of it, valid until the next run). A denoiser
 * with the damage-mask input (card hasMaskInput) has a third per-lane buffer, `maskSlot`, fed and
 * gathered like cond (zeros unless the pass writes a tile's mask into it).
 */
import type * as ort from 'onnxruntime-node';
import type { ModelPackage } from './models';
import { hasMaskInput } from '../../shared/card';
import { denoiserFeeds, policyFeeds } from './feeds';
import type { Lane, PolicyFn } from './samplers';

export interface Counters {
  /** Denoiser evaluations (tiles × calls). */
  calls: number;
  /** The same in 128×128-tile units (Σ calls × tile area / 128²). */
  calls128: number;
  /** The most evaluations any one tile needed. */
  callsPerTile: number;
  /** onnxruntime denoiser runs (batched calls) and time inside them. */
  onnxRuns: number;
  msOnnx: number;
  policyCalls: number;
  msPolicy: number;
}

export const newCounters = (): Counters => ({ calls: 0, calls128: 0, callsPerTile: 0, onnxRuns: 0, msOnnx: 0, policyCalls: 0, msPolicy: 0 });

/** `into` += `c` (callsPerTile: the larger). */
export function addCounters(into: Counters, c: Counters): void {
  into.calls += c.calls;
  into.calls128 += c.calls128;
  into.callsPerTile = Math.max(into.callsPerTile, c.callsPerTile);
  into.onnxRuns += c.onnxRuns;
  into.msOnnx += c.msOnnx;
  into.policyCalls += c.policyCalls;
  into.msPolicy += c.msPolicy;
}

/** True when a call's `members` are lanes 0 … b−1 in order: their slots already are the batch input, no gather. */
export function inSlotOrder(members: readonly number[]): boolean {
  for (let i = 0; i < members.length; i++) if (members[i] !== i) return false;
  return true;
}

export interface Denoiser {
  /** Lane i's x buffer (slot i of the batch input). */
  xSlot(i: number): Float32Array;
  /** Lane i's conditioning buffer (slot i of the batch input). */
  condSlot(i: number): Float32Array;
  /** Lane i's damage-mask plane (th·tw, 1 = damaged) for a denoiser with the mask input, else null. */
  maskSlot(i: number): Float32Array | null;
  /** New tiles in the lanes: the gathered conditioning is stale. */
  beginBatch(): void;
  /** ε of lanes[m] for m in `members`, all at level ᾱ = ab: one onnxruntime run; sets lanes[m].eps. */
  run(lanes: readonly Lane[], members: readonly number[], ab: number): Promise<void>;
}

/** The package's denoiser over `lanes` tiles of th×tw. */
export function makeDenoiser(model: ModelPackage, g: { lanes: number; tw: number; th: number }, counters: Counters): Denoiser {
  const io = model.card.io.denoiser;
  const outEps = io.outputs[0];
  const { lanes: B, tw, th } = g;
  const chw = 3 * tw * th;
  const xB = new Float32Array(B * chw);
  const cB = new Float32Array(B * chw);
  const gB = new Float32Array(B);
  const slot = (buf: Float32Array, i: number) => buf.subarray(i * chw, (i + 1) * chw);
  const conds = Array.from({ length: B }, (_, i) => slot(cB, i));
  const plane = tw * th;
  const mB = hasMaskInput(model.card) ? new Float32Array(B * plane) : null;
  const masks = mB ? Array.from({ length: B }, (_, i) => mB.subarray(i * plane, (i + 1) * plane)) : null;
  let xG: Float32Array | null = null;
  let cG: Float32Array | null = null;
  let mG: Float32Array | undefined;
  let lastGathered = '';
  // One set of tensors per (sub-batch size, gathered or not), over views of the same buffers.
  const tensors = new Map<string, Record<string, ort.Tensor>>();
  const feedsFor = (b: number, gathered: boolean) => {
    const key = `${b}${gathered ? 'g' : ''}`;
    let f = tensors.get(key);
    if (!f) {
      f = gathered ? denoiserFeeds(io, xG!, cG!, gB, b, th, tw, mG) : denoiserFeeds(io, xB, cB, gB, b, th, tw, mB ?? undefined);
      tensors.set(key, f);
    }
    return f;
  };
  return {
    xSlot: (i) => slot(xB, i),
    condSlot: (i) => conds[i],
    maskSlot: (i) => masks?.[i] ?? null,
    beginBatch() {
      lastGathered = '';
    },
    async run(lanes, members, ab) {
      const b = members.length;
      const identity = inSlotOrder(members);
      if (!identity) {
        xG ??= new Float32Array(B * chw);
        cG ??= new Float32Array(B * chw);
        if (masks) mG ??= new Float32Array(B * plane);
        for (let i = 0; i < b; i++) xG.set(lanes[members[i]].x, i * chw);
        const key = members.join(',');
        if (key !== lastGathered) {
          for (let i = 0; i < b; i++) cG.set(conds[members[i]], i * chw);
          if (masks) for (let i = 0; i < b; i++) mG!.set(masks[members[i]], i * plane);
          lastGathered = key;
        }
      }
      gB.fill(Math.sqrt(ab), 0, b);
      const t0 = performance.now();
      const res = await model.denoiser.run(feedsFor(b, !identity));
      counters.msOnnx += performance.now() - t0;
      const eps = res[outEps].data as Float32Array;
      for (let i = 0; i < b; i++) lanes[members[i]].eps = eps.subarray(i * chw, (i + 1) * chw);
      counters.onnxRuns++;
      counters.calls += b;
    },
  };
}

/** The package's policy session as a PolicyFn (null without a policy), counted in `counters`. */
export function makePolicyFn(model: ModelPackage, counters: Counters): PolicyFn | null {
  const io = model.card.io.policy;
  const sess = model.policy;
  if (!sess || !io) return null;
  return async (x, t, h, b) => {
    counters.policyCalls++;
    const t0 = performance.now();
    const res = await sess.run(policyFeeds(io, x, t, h, b));
    counters.msPolicy += performance.now() - t0;
    return { p: res[io.outputs[0]].data as Float32Array, hOut: res[io.outputs[2]].data as Float32Array };
  };
}
