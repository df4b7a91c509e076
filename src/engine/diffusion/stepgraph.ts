/**
 * The fused step graph (issue 19 item 1): the package's denoiser ONNX with the sampler's per-element
 * work added around it, built in memory when a pass asks for it (no file shipped, weights not
 * duplicated: the denoiser's bytes are copied through untouched).
 *
 *   inputs   step_x     float32 [B,3,H,W]  each lane's x at its current level ᾱ_a
 *            step_x0    float32 [B,3,H,W]  each lane's x̂₀ from its previous call (any finite values when c0 = 0)
 *            cond       float32 [B,3,H,W]  (the denoiser's own input, unchanged)
 *            gamma      float32 [B]        sqrt(ᾱ_b) of the level the call runs at (the denoiser's own input)
 *            step_coef  float32 [B,5,1,1]  per lane: c0, c1, σ (the move a → b), a = 1/√ᾱ_b, b = √(1−ᾱ_b)/√ᾱ_b
 *            step_z     float32 [B,3,H,W]  noise 'host': the lanes' own N(0,1) draws (the CPU path's numbers)
 *       or   step_key   uint32  [B,3]      noise 'device': the counter-based generator's key per lane
 *   nodes    x_t  = c0·x0 + c1·x + σ·z                (the ancestral/DDIM move; c0 = 0, c1 = 1, σ = 0 keeps x)
 *            eps  = denoiser(x_t, cond, gamma)
 *            x̂₀   = clip(a·x_t − b·eps, −1, 1)
 *   outputs  x_t (the card's denoiser input name) and step_x0_out
 *
 * Device noise (noise 'device'), all in uint32 arithmetic that wraps mod 2³² (Mul, Add, Div by powers
 * of two: the WebGPU EP has no Xor, BitShift or Mod, and no random ops), so the integers are the same
 * on every provider: element index c ∈ [0, n) of a lane's n = 3·H·W values,
 *   h = c·0x9E3779B1 + k0; 4 rounds of  h = h·(2h + 1);  h = rotl16(h) + (k1, k2, k1, k2)
 * (x·(2x+1) is a bijection mod 2³², the 16-bit rotation brings the high bits down: a bijection of c
 * for each key, statistically tested in test/unit/engine-stepgraph.test.ts), u = ((h >> 9) + ½)/2²³
 * (exact in float32), Box–Muller over the two halves: z[i] = r·cos 2φ, z[i + n/2] = r·sin 2φ with
 * r = √(−2 ln u[i]), φ = π(u[i + n/2] − ½), cos 2φ = cos²φ − sin²φ, sin 2φ = 2 sin φ cos φ from
 * Taylor polynomials (Mul/Add: devices' own sin/cos are allowed to be 2⁻¹¹ off). Only log and sqrt
 * may round differently between providers. `deviceNoiseRef` is the same generator in JS.
 *
 * Only a thin layer of protobuf is parsed: ModelProto's fields are copied except the graph, whose
 * fields are copied except the `x_t` input and the `eps` output; new nodes go before (the move) and
 * after (x̂₀) the denoiser's nodes, so the node list stays topologically sorted.
 */

import { fmix32 } from './rng';

// ------------------------------------------------------------------ protobuf wire format (the subset ONNX needs)

type Bytes = Uint8Array;

function varint(v: number): number[] {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint: ${v}`);
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function concat(parts: readonly Bytes[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const fieldKey = (field: number, wire: number) => varint(field * 8 + wire);
const lenField = (field: number, body: Bytes): Bytes => concat([Uint8Array.from([...fieldKey(field, 2), ...varint(body.length)]), body]);
const strField = (field: number, s: string) => lenField(field, enc.encode(s));
const intField = (field: number, v: number) => Uint8Array.from([...fieldKey(field, 0), ...varint(v)]);
const msg = (...parts: Bytes[]) => concat(parts);

interface Field {
  field: number;
  wire: number;
  /** The whole field (key included), for copying it through. */
  start: number;
  end: number;
  /** Payload of a length-delimited field. */
  body?: Bytes;
  value?: number;
}

function readVarint(b: Bytes, p: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (p >= b.length) throw new Error('truncated protobuf');
    const c = b[p++];
    v += (c & 0x7f) * mul;
    if (c < 0x80) return [v, p];
    mul *= 0x80;
    if (mul > 2 ** 63) throw new Error('bad varint');
  }
}

function fields(b: Bytes): Field[] {
  const out: Field[] = [];
  let p = 0;
  while (p < b.length) {
    const start = p;
    const [key, p1] = readVarint(b, p);
    p = p1;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let f: Field;
    if (wire === 0) {
      const [v, p2] = readVarint(b, p);
      p = p2;
      f = { field, wire, start, end: p, value: v };
    } else if (wire === 2) {
      const [len, p2] = readVarint(b, p);
      if (p2 + len > b.length) throw new Error('truncated protobuf');
      f = { field, wire, start, end: p2 + len, body: b.subarray(p2, p2 + len) };
      p = p2 + len;
    } else if (wire === 1) {
      p += 8;
      f = { field, wire, start, end: p };
    } else if (wire === 5) {
      p += 4;
      f = { field, wire, start, end: p };
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (p > b.length) throw new Error('truncated protobuf');
    out.push(f);
  }
  return out;
}

const nameOf = (valueInfo: Bytes) => {
  const f = fields(valueInfo).find((x) => x.field === 1 && x.body);
  return f ? dec.decode(f.body) : '';
};

// ------------------------------------------------------------------ ONNX messages

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
const UINT32 = 12;

type Attr = { name: string; i: number } | { name: string; f: number };

function attribute(a: Attr): Bytes {
  if ('i' in a) return msg(strField(1, a.name), intField(3, a.i), intField(20, 2));
  const f = new Uint8Array(5);
  f[0] = fieldKey(2, 5)[0];
  new DataView(f.buffer).setFloat32(1, a.f, true);
  return msg(strField(1, a.name), f, intField(20, 1));
}

let nodeCount = 0;
function node(op: string, inputs: string[], outputs: string[], attrs: Attr[] = []): Bytes {
  return lenField(1, msg(...inputs.map((s) => strField(1, s)), ...outputs.map((s) => strField(2, s)), strField(3, `step_${op}_${nodeCount++}`), strField(4, op), ...attrs.map((a) => lenField(5, attribute(a)))));
}

/** A constant (initializer): dims ([] = scalar), element type, little-endian raw bytes. */
function initializer(name: string, type: number, dims: number[], raw: Bytes): Bytes {
  return lenField(5, msg(...dims.map((d) => intField(1, d)), intField(2, type), strField(8, name), lenField(9, raw)));
}
const f32s = (v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const u32s = (v: number[]) => new Uint8Array(Uint32Array.from(v).buffer);
const i32s = (v: number[]) => new Uint8Array(Int32Array.from(v).buffer);
const i64s = (v: number[]) => {
  const b = new BigInt64Array(v.length);
  v.forEach((x, i) => (b[i] = BigInt(x)));
  return new Uint8Array(b.buffer);
};

/** ValueInfoProto of a tensor: dims are numbers (fixed) or strings (symbolic). */
function valueInfo(name: string, type: number, dims: (number | string)[]): Bytes {
  const shape = msg(...dims.map((d) => lenField(1, typeof d === 'number' ? intField(1, d) : strField(2, d))));
  const tensorType = msg(intField(1, type), lenField(2, shape));
  return msg(strField(1, name), lenField(2, lenField(1, tensorType)));
}

// ------------------------------------------------------------------ the step graph

export type StepNoise = 'host' | 'device';

/** Names of the step graph's own inputs and outputs (beside the denoiser's cond and gamma). */
export const STEP_IO = { x: 'step_x', x0: 'step_x0', coef: 'step_coef', z: 'step_z', key: 'step_key', x0Out: 'step_x0_out' } as const;
/** Per-lane coefficient layout of step_coef. */
export const COEF = { c0: 0, c1: 1, sigma: 2, a: 3, b: 4, count: 5 } as const;

/** The four rounds' keys (k1, k2, k1, k2) and the constants of the device generator. */
const GOLDEN = 0x9e3779b1;

/**
 * sin φ / φ and cos φ for |φ| ≤ π/2 by their Taylor polynomials in φ² (highest power first; truncation
 * error < 6e-8), evaluated with Mul and Add only: devices' own sin/cos may be far less precise (WGSL
 * and Vulkan allow 2⁻¹¹ absolute; SwiftShader's is 1.9e-4 off), float32 Mul and Add are exact-rounded.
 */
export const SIN_TAYLOR = [-1 / 39916800, 1 / 362880, -1 / 5040, 1 / 120, -1 / 6, 1];
export const COS_TAYLOR = [1 / 479001600, -1 / 3628800, 1 / 40320, -1 / 720, 1 / 24, -1 / 2, 1];

/** Horner's rule on step_phi2 for `coefs` (highest first, constants `${out}_c${i}`) into `out`. */
function horner(out: string, coefs: readonly number[]): { nodes: Bytes[]; inits: Bytes[] } {
  const nodes: Bytes[] = [];
  const inits = coefs.map((c, i) => initializer(`${out}_c${i}`, FLOAT, [], f32s([c])));
  let acc = `${out}_c0`;
  for (let i = 1; i < coefs.length; i++) {
    const m = `${out}_m${i}`;
    const a = i === coefs.length - 1 ? out : `${out}_a${i}`;
    nodes.push(node('Mul', [acc, 'step_phi2'], [m]), node('Add', [m, `${out}_c${i}`], [a]));
    acc = a;
  }
  return { nodes, inits };
}

/** Default-domain opset of a ModelProto (field 8: OperatorSetIdProto {1: domain, 2: version}). */
function defaultOpset(top: Field[]): number {
  let v = 0;
  for (const f of top) {
    if (f.field !== 8 || !f.body) continue;
    const o = fields(f.body);
    const domain = o.find((x) => x.field === 1 && x.body);
    const ver = o.find((x) => x.field === 2 && x.value !== undefined);
    if ((!domain || domain.body!.length === 0 || dec.decode(domain.body!) === 'ai.onnx') && ver) v = Math.max(v, ver.value!);
  }
  return v;
}

/**
 * The step graph of a denoiser (`model`: the ONNX file's bytes; `io`: the card's denoiser names,
 * inputs [x_t, cond, gamma], outputs [eps]). Throws when the graph is not what the card says.
 */
export function buildStepGraph(model: Bytes, io: { inputs: readonly string[]; outputs: readonly string[] }, noise: StepNoise): Bytes {
  if (io.inputs.length !== 3 || io.outputs.length !== 1) throw new Error(`step graph: the denoiser must have inputs [x_t, cond, gamma] and one output (has ${io.inputs.join(', ')} → ${io.outputs.join(', ')})`);
  const X = io.inputs[0];
  const EPS = io.outputs[0];
  const top = fields(model);
  const graphs = top.filter((f) => f.field === 7);
  if (graphs.length !== 1 || !graphs[0].body) throw new Error('step graph: the model has no single graph');
  const opset = defaultOpset(top);
  if (opset < 13) throw new Error(`step graph: opset ${opset} < 13 is not supported`);
  const gf = fields(graphs[0].body);
  let sawX = false;
  let sawEps = false;
  const keep: Bytes[] = [];
  for (const f of gf) {
    if (f.field === 11 && nameOf(f.body!) === X) sawX = true;
    else if (f.field === 12 && nameOf(f.body!) === EPS) sawEps = true;
    else keep.push(graphs[0].body.subarray(f.start, f.end));
  }
  if (!sawX || !sawEps) throw new Error(`step graph: the denoiser has no input "${X}" or no output "${EPS}"`);
  if (gf.some((f) => (f.field === 11 || f.field === 12) && f.body && nameOf(f.body).startsWith('step_'))) throw new Error('step graph: the denoiser already has step_ names');
  nodeCount = 0;
  const split = (input: string, outputs: string[], axis: number) => node('Split', [input], outputs, opset >= 18 ? [{ name: 'axis', i: axis }, { name: 'num_outputs', i: outputs.length }] : [{ name: 'axis', i: axis }]);

  const inits: Bytes[] = [
    initializer('step_f_m1', FLOAT, [], f32s([-1])),
    initializer('step_f_1', FLOAT, [], f32s([1])),
  ];
  const pre: Bytes[] = [split(STEP_IO.coef, ['step_c0', 'step_c1', 'step_sigma', 'step_ca', 'step_cb'], 1)];
  let z: string = STEP_IO.z;
  if (noise === 'device') {
    inits.push(
      initializer('step_shape_flat', INT64, [2], i64s([0, -1])),
      initializer('step_i64_1', INT64, [], i64s([1])),
      initializer('step_i32_0', INT32, [], i32s([0])),
      initializer('step_i32_1', INT32, [], i32s([1])),
      initializer('step_u_golden', UINT32, [], u32s([GOLDEN])),
      initializer('step_u_1', UINT32, [], u32s([1])),
      initializer('step_u_2', UINT32, [], u32s([2])),
      initializer('step_u_65536', UINT32, [], u32s([65536])),
      initializer('step_u_512', UINT32, [], u32s([512])),
      initializer('step_f_half', FLOAT, [], f32s([0.5])),
      initializer('step_f_2m23', FLOAT, [], f32s([2 ** -23])),
      initializer('step_f_m2', FLOAT, [], f32s([-2])),
      initializer('step_f_pi', FLOAT, [], f32s([Math.PI])),
      initializer('step_f_2', FLOAT, [], f32s([2])),
    );
    const sinP = horner('step_sinp', SIN_TAYLOR);
    const cosP = horner('step_cphi', COS_TAYLOR);
    inits.push(...sinP.inits, ...cosP.inits);
    pre.push(
      node('Reshape', [STEP_IO.x, 'step_shape_flat'], ['step_flat']),
      node('Shape', ['step_flat'], ['step_flat_shape']),
      node('Gather', ['step_flat_shape', 'step_i64_1'], ['step_n64'], [{ name: 'axis', i: 0 }]),
      node('Cast', ['step_n64'], ['step_n'], [{ name: 'to', i: INT32 }]),
      node('Range', ['step_i32_0', 'step_n', 'step_i32_1'], ['step_idx_i']),
      node('Cast', ['step_idx_i'], ['step_idx'], [{ name: 'to', i: UINT32 }]),
      split(STEP_IO.key, ['step_k0', 'step_k1', 'step_k2'], 1),
      node('Mul', ['step_idx', 'step_u_golden'], ['step_h0m']),
      node('Add', ['step_h0m', 'step_k0'], ['step_h0']),
    );
    let h = 'step_h0';
    for (let r = 0; r < 4; r++) {
      const p = `step_r${r}`;
      pre.push(
        node('Mul', [h, 'step_u_2'], [`${p}_2h`]),
        node('Add', [`${p}_2h`, 'step_u_1'], [`${p}_2h1`]),
        node('Mul', [h, `${p}_2h1`], [`${p}_t`]),
        node('Mul', [`${p}_t`, 'step_u_65536'], [`${p}_lo`]),
        node('Div', [`${p}_t`, 'step_u_65536'], [`${p}_hi`]),
        node('Add', [`${p}_lo`, `${p}_hi`], [`${p}_rot`]),
        node('Add', [`${p}_rot`, r % 2 === 0 ? 'step_k1' : 'step_k2'], [`${p}_h`]),
      );
      h = `${p}_h`;
    }
    pre.push(
      node('Div', [h, 'step_u_512'], ['step_q']),
      node('Cast', ['step_q'], ['step_qf'], [{ name: 'to', i: FLOAT }]),
      node('Add', ['step_qf', 'step_f_half'], ['step_qh']),
      node('Mul', ['step_qh', 'step_f_2m23'], ['step_u']),
      split('step_u', ['step_u1', 'step_u2'], 1),
      node('Log', ['step_u1'], ['step_lg']),
      node('Mul', ['step_lg', 'step_f_m2'], ['step_lg2']),
      node('Sqrt', ['step_lg2'], ['step_rad']),
      node('Sub', ['step_u2', 'step_f_half'], ['step_u2c']),
      node('Mul', ['step_u2c', 'step_f_pi'], ['step_phi']),
      node('Mul', ['step_phi', 'step_phi'], ['step_phi2']),
      ...sinP.nodes,
      node('Mul', ['step_sinp', 'step_phi'], ['step_sphi']),
      ...cosP.nodes,
      node('Mul', ['step_cphi', 'step_cphi'], ['step_cc']),
      node('Mul', ['step_sphi', 'step_sphi'], ['step_ss']),
      node('Sub', ['step_cc', 'step_ss'], ['step_cos']),
      node('Mul', ['step_sphi', 'step_cphi'], ['step_sc']),
      node('Mul', ['step_sc', 'step_f_2'], ['step_sin']),
      node('Mul', ['step_rad', 'step_cos'], ['step_za']),
      node('Mul', ['step_rad', 'step_sin'], ['step_zb']),
      node('Concat', ['step_za', 'step_zb'], ['step_zflat'], [{ name: 'axis', i: 1 }]),
      node('Shape', [STEP_IO.x], ['step_x_shape']),
      node('Reshape', ['step_zflat', 'step_x_shape'], ['step_znoise']),
    );
    z = 'step_znoise';
  }
  pre.push(
    node('Mul', [STEP_IO.x0, 'step_c0'], ['step_m0']),
    node('Mul', [STEP_IO.x, 'step_c1'], ['step_m1']),
    node('Add', ['step_m0', 'step_m1'], ['step_mean']),
    node('Mul', [z, 'step_sigma'], ['step_nz']),
    node('Add', ['step_mean', 'step_nz'], [X]),
  );
  const post: Bytes[] = [
    node('Mul', [X, 'step_ca'], ['step_p']),
    node('Mul', [EPS, 'step_cb'], ['step_q_eps']),
    node('Sub', ['step_p', 'step_q_eps'], ['step_v']),
    node('Clip', ['step_v', 'step_f_m1', 'step_f_1'], [STEP_IO.x0Out]),
  ];
  const img = (name: string) => valueInfo(name, FLOAT, ['B', 3, 'H', 'W']);
  const inputs = [
    lenField(11, img(STEP_IO.x)),
    lenField(11, img(STEP_IO.x0)),
    lenField(11, valueInfo(STEP_IO.coef, FLOAT, ['B', COEF.count, 1, 1])),
    lenField(11, noise === 'host' ? img(STEP_IO.z) : valueInfo(STEP_IO.key, UINT32, ['B', 3])),
  ];
  const outputs = [lenField(12, img(X)), lenField(12, img(STEP_IO.x0Out))];
  const graph = concat([...pre, ...keep, ...post, ...inits, ...inputs, ...outputs]);
  const rest = top.filter((f) => f.field !== 7).map((f) => model.subarray(f.start, f.end));
  return concat([...rest, lenField(7, graph)]);
}

// ------------------------------------------------------------------ the device generator, in JS


/**
 * Key (k0, k1, k2) of the device generator for the `move`-th noisy move of stream `stream` under
 * `seed` (seed in [0, 2^53), stream and move non-negative integers < 2^32).
 */
export function deviceNoiseKey(seed: number, stream: number, move: number): [number, number, number] {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let h = fmix32(lo ^ 0x3c6ef372);
  h = fmix32(h ^ hi ^ 0xa54ff53a);
  h = fmix32(h ^ (stream >>> 0) ^ 0x510e527f);
  h = fmix32(h ^ Math.floor(stream / 4294967296) ^ 0x9b05688c);
  h = fmix32(h ^ (move >>> 0) ^ 0x1f83d9ab);
  return [h, fmix32(h ^ 0x5be0cd19), fmix32(h ^ 0x6a09e667)];
}

/** The raw 32-bit hash of element c under key k (what the graph's uint32 nodes compute). */
export function deviceHash(c: number, k: readonly number[]): number {
  let h = (Math.imul(c, GOLDEN) + k[0]) >>> 0;
  for (let r = 0; r < 4; r++) {
    h = Math.imul(h, (2 * h + 1) >>> 0) >>> 0;
    h = (((h << 16) | (h >>> 16)) + k[r % 2 === 0 ? 1 : 2]) >>> 0;
  }
  return h;
}

/** float32 Horner's rule, as the graph evaluates it. */
function hornerF32(coefs: readonly number[], x2: number): number {
  const f = Math.fround;
  let acc = f(coefs[0]);
  for (let i = 1; i < coefs.length; i++) acc = f(f(acc * x2) + f(coefs[i]));
  return acc;
}

/**
 * The device generator's n normals for key k (n even), with the graph's float32 arithmetic (only
 * log and sqrt are JS's own double functions, rounded to float32).
 */
export function deviceNoiseRef(k: readonly number[], n: number, out = new Float64Array(n)): Float64Array {
  if (n % 2) throw new RangeError('device noise: n must be even');
  const f = Math.fround;
  const m = n / 2;
  const u = (c: number) => f(f((deviceHash(c, k) >>> 9) + 0.5) * 2 ** -23);
  const pi = f(Math.PI);
  for (let i = 0; i < m; i++) {
    const r = f(Math.sqrt(f(f(Math.log(u(i))) * -2)));
    const phi = f(f(u(i + m) - 0.5) * pi);
    const p2 = f(phi * phi);
    const s = f(hornerF32(SIN_TAYLOR, p2) * phi);
    const c = hornerF32(COS_TAYLOR, p2);
    out[i] = f(r * f(f(c * c) - f(s * s)));
    out[i + m] = f(r * f(f(s * c) * 2));
  }
  return out;
}
