/**
 * The ONNX feeds of a model package's two networks, built in one place (the sampler's batches, the
 * provider probe and the step timing all feed the same inputs):
 *   denoiser  x_t [b,3,h,w], cond [b,3,h,w], gamma = sqrt(ᾱ) [b], and for a package whose card
 *             declares it (hasMaskInput) mask [b,1,h,w]: 1 = damaged (issue 17 item 2), zeros when the
 *             caller has no mask buffer (no repair, the provider probe, the step timing)
 *   policy    x0_hat [b,3,S,S], t_feat [b,3], h [b,hidden]
 * Buffers may be longer than b entries (batch buffers reused for smaller sub-batches): the tensors
 * are views of their first b entries, no copy.
 */
import * as ort from 'onnxruntime-node';
import type { ModelCard } from '../../shared/card';

type PolicyIo = NonNullable<ModelCard['io']['policy']>;

/**
 * Feeds of one denoiser run on b tiles of h×w (CHW per tile). `mask` (h·w per tile) is fed only to a
 * denoiser with the mask input; without one it gets zeros.
 */
export function denoiserFeeds(io: ModelCard['io']['denoiser'], x: Float32Array, cond: Float32Array, gamma: Float32Array, b: number, h: number, w: number, mask?: Float32Array): Record<string, ort.Tensor> {
  const n = b * 3 * h * w;
  const [inX, inC, inG, inM] = io.inputs;
  const feeds: Record<string, ort.Tensor> = {
    [inX]: new ort.Tensor('float32', x.subarray(0, n), [b, 3, h, w]),
    [inC]: new ort.Tensor('float32', cond.subarray(0, n), [b, 3, h, w]),
    [inG]: new ort.Tensor('float32', gamma.subarray(0, b), [b]),
  };
  if (inM) feeds[inM] = new ort.Tensor('float32', mask ? mask.subarray(0, b * h * w) : new Float32Array(b * h * w), [b, 1, h, w]);
  return feeds;
}

/** Feeds of one policy run on b lanes. */
export function policyFeeds(io: PolicyIo, x0Hat: Float32Array, tFeat: Float32Array, h: Float32Array, b: number): Record<string, ort.Tensor> {
  const S = io.imageSize;
  return {
    [io.inputs[0]]: new ort.Tensor('float32', x0Hat.subarray(0, b * 3 * S * S), [b, 3, S, S]),
    [io.inputs[1]]: new ort.Tensor('float32', tFeat.subarray(0, b * 3), [b, 3]),
    [io.inputs[2]]: new ort.Tensor('float32', h.subarray(0, b * io.hidden), [b, io.hidden]),
  };
}
