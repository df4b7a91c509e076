/**
 * Third detector candidate, measured from a scratch install (not a project dependency):
 * @vladmandic/human 3.3.6 (BlazeFace detector + FaceMesh, weights shipped in the package's models/),
 * tfjs wasm backend. Run from a folder where `npm i @vladmandic/human@3.3.6 @tensorflow/tfjs@4.22.0
 * @tensorflow/tfjs-backend-wasm@4.22.0` was done:
 *   node bench/faces-detect-human.cjs <that folder> > /tmp/human-boxes.json
 *   npx tsx bench/faces-detect.ts --score-boxes /tmp/human-boxes.json --name human
 * Whole photo + 640 px tiles (the same tiling as the face-api configs); boxes merged by IoU > 0.35.
 */
const fs = require('fs');
const path = require('path');
const base = path.resolve(process.argv[2] || '.');
// Pure tfjs has no file:// loader in Node: serve file:// from disk; everything else refused (no network).
globalThis.fetch = async (url) => {
  const u = String(url);
  if (!u.startsWith('file://')) throw new Error('network disabled: ' + u);
  const p = u.slice(7);
  return new Response(fs.readFileSync(p), { status: 200, headers: { 'content-type': p.endsWith('.json') ? 'application/json' : 'application/octet-stream' } });
};
const H = require(path.join(base, 'node_modules/@vladmandic/human/dist/human.node-wasm.js'));
const sharp = require(path.resolve(__dirname, '../node_modules/sharp'));
const OLD = path.resolve(__dirname, '../../shared/data/real/old');
const iou = (a, b) => { const x0 = Math.max(a.x, b.x), y0 = Math.max(a.y, b.y), x1 = Math.min(a.x + a.w, b.x + b.w), y1 = Math.min(a.y + a.h, b.y + b.h); const i = Math.max(0, x1 - x0) * Math.max(0, y1 - y0); return i / (a.w * a.h + b.w * b.h - i); };
(async () => {
  const human = new H.Human({ backend: 'wasm', debug: false, modelBasePath: 'file://' + path.join(base, 'node_modules/@vladmandic/human/models') + '/', wasmPath: path.join(base, 'node_modules/@tensorflow/tfjs-backend-wasm/dist') + '/',
    face: { enabled: true, detector: { rotation: true, maxDetected: 100, minConfidence: 0.3, return: false }, mesh: { enabled: true }, iris: { enabled: false }, description: { enabled: false }, emotion: { enabled: false }, antispoof: { enabled: false }, liveness: { enabled: false } },
    body: { enabled: false }, hand: { enabled: false }, object: { enabled: false }, gesture: { enabled: false }, segmentation: { enabled: false }, filter: { enabled: false } });
  await human.load();
  const run = async (buf, w, h) => { const t = human.tf.tensor4d(new Uint8Array(buf), [1, h, w, 3], 'int32'); const r = await human.detect(t); t.dispose(); return r.face.map((f) => ({ x: f.box[0], y: f.box[1], w: f.box[2], h: f.box[3], score: f.score })); };
  const out = { backend: human.tf.getBackend(), images: {} };
  const files = fs.readdirSync(OLD).sort();
  { const { data, info } = await sharp(path.join(OLD, files[0])).removeAlpha().raw().toBuffer({ resolveWithObject: true }); await run(data, info.width, info.height); }
  for (const f of files) {
    const { data, info } = await sharp(path.join(OLD, f)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const t0 = performance.now();
    const all = { whole: await run(data, info.width, info.height), tiled: [] };
    const T = 640;
    const starts = (len) => { if (len <= T) return [0]; const n = Math.ceil((len - T) / (T * 0.75)) + 1; return Array.from({ length: n }, (_, i) => Math.round((i * (len - T)) / (n - 1))); };
    const msWhole = performance.now() - t0;
    let found = [...all.whole];
    if (Math.max(info.width, info.height) > T * 1.25) {
      for (const ty of starts(info.height)) for (const tx of starts(info.width)) {
        const tw = Math.min(T, info.width), th = Math.min(T, info.height);
        const sub = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).extract({ left: tx, top: ty, width: tw, height: th }).raw().toBuffer();
        for (const b of await run(sub, tw, th)) found.push({ ...b, x: b.x + tx, y: b.y + ty });
      }
    }
    found.sort((a, b) => b.score - a.score);
    const keep = [];
    for (const b of found) if (!keep.some((k) => iou(k, b) > 0.35)) keep.push(b);
    out.images[f] = { whole: all.whole, tiled: keep, msWhole: Math.round(msWhole), msTiled: Math.round(performance.now() - t0) };
    process.stderr.write(`${f} whole ${all.whole.length} tiled ${keep.length} ${Math.round(performance.now() - t0)} ms\n`);
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
