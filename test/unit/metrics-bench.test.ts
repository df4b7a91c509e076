/** The bench command: method parsing, a tiny classic + diffusion run, JSON / Markdown / plot outputs. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readImageU8, writeImageU8 } from '../../src/engine/metrics/io';
import { benchMarkdown, parseMethods, runBench, runBenchCommand, renderBenchPlot } from '../../src/cli/commands/bench';

const ROOT = path.resolve(__dirname, '../..');
const SYN = path.join(ROOT, 'test/fixtures/metrics/synthetic.png');
const MODELS = path.join(ROOT, 'test/fixtures/models');
const hasEngine = existsSync(path.join(ROOT, 'src/engine/diffusion/index.ts')) && existsSync(path.join(MODELS, 'tiny-x4/card.json'));

async function makeSet(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const set = path.join(dir, 'set');
  mkdirSync(set);
  const img = await readImageU8(SYN);
  for (const [k, x0] of [[0, 0], [1, 100]] as const) {
    const w = 66; // not a multiple of 4: the bench crops to 64
    const h = 64;
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) data.set(img.data.subarray(((y + 40) * img.width + x0) * 3, ((y + 40) * img.width + x0 + w) * 3), y * w * 3);
    await writeImageU8({ width: w, height: h, channels: 3, data }, path.join(set, `img${k}.png`));
  }
  return set;
}

describe('bench', () => {
  it('parses method lists with abbreviations and rejects unknown ids', () => {
    expect(parseMethods('bicubic,ddpm:10,20,skipdiff:0,0.5,csa,fixed:10').map((m) => m.id)).toEqual([
      'bicubic', 'ddpm:10', 'ddpm:20', 'skipdiff:0', 'skipdiff:0.5', 'csa', 'fixed:10',
    ]);
    expect(() => parseMethods('bicubic,foo')).toThrow(/unknown method "foo"/);
    expect(() => parseMethods('skipdiff:2')).toThrow(/knob/);
    expect(() => parseMethods('10')).toThrow(/no method before/);
  });

  it('--degrade real:medium degrades the LR, --save-lr writes it, --peer scores another tool\'s outputs', async () => {
    const set = await makeSet();
    const emptyModels = mkdtempSync(path.join(os.tmpdir(), 'models-'));
    const lrDir = mkdtempSync(path.join(os.tmpdir(), 'bench-lr-'));
    const clean = await runBench({ set, scale: '4', methods: 'bicubic', modelsDir: emptyModels });
    const r = await runBench({ set, scale: '4', methods: 'bicubic', modelsDir: emptyModels, degrade: 'real:medium', saveLr: lrDir });
    expect(r.degrade?.description).toMatch(/^real:medium: Gaussian blur σ 1\.2/);
    expect(benchMarkdown(r)).toMatch(/Degradation real:medium: .*JPEG q 60/);
    // the degraded LR is further from the truth, and bicubic of it is no longer consistent with the clean LR
    expect(r.methods[0].psnr).toBeLessThan(clean.methods[0].psnr);
    expect(r.methods[0].lrPsnrClean).toBeLessThan(r.methods[0].lrPsnr);
    expect(clean.methods[0].lrPsnrClean).toBeCloseTo(clean.methods[0].lrPsnr, 9);
    // a "peer" whose outputs are our own bicubic upsample of the saved LR scores as bicubic does
    const peerDir = mkdtempSync(path.join(os.tmpdir(), 'bench-peer-'));
    const { resizeU8 } = await import('../../src/engine/resample');
    for (const f of ['img0.png', 'img1.png']) {
      const lr = await readImageU8(path.join(lrDir, f));
      expect([lr.width, lr.height]).toEqual([16, 16]);
      await writeImageU8(await resizeU8(lr, 64, 64, 'bicubic'), path.join(peerDir, f));
    }
    const withPeer = await runBench({ set, scale: '4', methods: 'lanczos', modelsDir: emptyModels, degrade: 'real:medium', peer: [`mine=${peerDir}`] });
    const peer = withPeer.methods.find((m) => m.id === 'mine')!;
    expect(peer.kind).toBe('peer');
    expect(peer.psnr).toBeGreaterThan(10);
    expect(Math.abs(peer.psnr - r.methods[0].psnr)).toBeLessThan(0.5);
    // a missing or mis-sized peer output is an error naming the file
    await expect(runBench({ set, scale: '4', methods: 'bicubic', modelsDir: emptyModels, peer: [`gone=${lrDir}`] })).rejects.toThrow(/gone: .*img0\.png is 16x16, expected 64x64/);
  });

  it('classic methods run; diffusion methods are listed as unavailable without a model', async () => {
    const set = await makeSet();
    const emptyModels = mkdtempSync(path.join(os.tmpdir(), 'models-'));
    const r = await runBench({ set, scale: '4', methods: 'bicubic,lanczos,skipdiff:0.5', modelsDir: emptyModels });
    expect(r.n).toBe(2);
    const [bic, lan, sd] = r.methods;
    expect(bic.available && lan.available).toBe(true);
    expect(bic.perImage[0].px).toBe(64 * 64);
    expect(bic.psnr).toBeGreaterThan(15);
    expect(bic.lrPsnr).toBeGreaterThan(bic.psnr); // bicubic is nearly LR-consistent
    expect(bic.calls).toBe(0);
    expect(bic.niqeVariant).toMatch(/small/);
    expect(sd.available).toBe(false);
    expect(sd.reason).toMatch(/no natural model for 4x/);
    const md = benchMarkdown(r);
    expect(md).toMatch(/\| bicubic \| \d+\.\d\d ± \d/);
    expect(bic.gmsd).toBeGreaterThan(0); // bicubic is not the HR
    expect(Number.isNaN(bic.msssim)).toBe(true); // 64 px crops: under MS-SSIM's 161 px
    expect(md).toMatch(/\| MS-SSIM ↑ \| GMSD ↓ \|/);
    expect(md).toMatch(/Unavailable: skipdiff:0\.5/);
    const svg = await renderBenchPlot(r);
    expect(svg).toMatch(/^<svg/);
    expect(svg).toMatch(/lower = more natural/);
  });

  it.skipIf(!hasEngine)('runs a diffusion method with the tiny fixture model and writes JSON/MD/PNG', async () => {
    const set = await makeSet();
    const out = mkdtempSync(path.join(os.tmpdir(), 'bench-out-'));
    const code = await runBenchCommand({
      set, scale: '4', n: '1', methods: 'bicubic,skipdiff:0,fixed:2', modelsDir: MODELS, model: 'tiny-x4', threads: '1', quiet: true,
      json: path.join(out, 'r.json'), md: path.join(out, 'r.md'), plot: path.join(out, 'r.png'),
    });
    expect(code).toBe(0);
    const j = JSON.parse(readFileSync(path.join(out, 'r.json'), 'utf8'));
    expect(j).toMatchObject({ scale: 4, model: 'tiny-x4', n: 1 });
    const sd = j.methods.find((m: { id: string }) => m.id === 'skipdiff:0');
    expect(sd.available).toBe(true);
    expect(sd.calls).toBeGreaterThan(0);
    for (const k of ['psnr', 'ssim', 'niqe', 'lrPsnr', 'msMedian', 'psnrStd']) expect(typeof sd[k]).toBe('number');
    expect(readFileSync(path.join(out, 'r.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('bad arguments: exit code 2, one line', async () => {
    expect(await runBenchCommand({ set: '.', scale: '3', quiet: true })).toBe(2);
    expect(await runBenchCommand({ set: '/nope', scale: '4', methods: 'bicubic', quiet: true })).toBe(1);
  });
});
