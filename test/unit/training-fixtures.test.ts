/**
 * Every model card under test/fixtures/models/ and models/ parses with the zod ModelCard schema and names files
 * that exist; the training fixtures (bicubic, schedule) are well formed.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModelCard, knobToN } from '../../src/shared/card';

const ROOT = resolve(__dirname, '..', '..');

function cardDirs(base: string): string[] {
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(base, d.name, 'card.json')))
    .map((d) => join(base, d.name));
}

const dirs = [...cardDirs(join(ROOT, 'test', 'fixtures', 'models')), ...cardDirs(join(ROOT, 'models'))];

describe('model cards', () => {
  it('finds the tiny fixture cards', () => {
    const names = dirs.map((d) => d.split(/[\\/]/).pop());
    expect(names).toContain('tiny-x4');
    expect(names).toContain('tiny-face-x8');
  });

  for (const dir of dirs) {
    const rel = dir.slice(ROOT.length + 1);
    it(`${rel}/card.json parses and its files exist`, () => {
      const raw = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8'));
      const card = ModelCard.parse(raw);
      expect(card.id).toBe(dir.split(/[\\/]/).pop());
      expect(existsSync(join(dir, card.files.denoiser))).toBe(true);
      if (card.files.policy) {
        expect(existsSync(join(dir, card.files.policy))).toBe(true);
        expect(card.io.policy).toBeDefined();
      }
      expect(card.scales).toContain(card.primaryScale);
      expect(card.tile.size % card.tile.multiple).toBe(0);
      // knob mapping monotone and inside the fine grid
      let prev = 0;
      for (let k = 0; k <= 1.0001; k += 0.05) {
        const n = knobToN(card, k);
        expect(n).toBeGreaterThanOrEqual(prev);
        expect(n).toBeLessThanOrEqual(card.sampler.fineSteps);
        prev = n;
      }
    });
  }
});

describe('training fixtures', () => {
  it('schedule: 100-step alphaBar_9 equals 10-step alphaBar_0 = 0.97209', () => {
    const s = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/schedule/cosine.json'), 'utf8'));
    expect(s.cosine['10']).toHaveLength(10);
    expect(s.cosine['100']).toHaveLength(100);
    expect(s.cosine['1000']).toHaveLength(1000);
    expect(s.cosine['100'][9]).toBeCloseTo(0.97209, 5);
    expect(s.cosine['100'][9]).toBeCloseTo(s.cosine['10'][0], 10);
  });

  it('bicubic cases have consistent shapes', () => {
    const b = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/bicubic/cases.json'), 'utf8'));
    const n = (s: number[]) => s.reduce((a, c) => a * c, 1);
    for (const c of b.cases) {
      expect(c.input).toHaveLength(n(c.shape));
      for (const op of c.ops) expect(op.data).toHaveLength(n(op.shape));
    }
    for (const p of b.pipelines) {
      expect(p.hr_uint8).toHaveLength(n(p.hr_shape));
      expect(p.lr_uint8).toHaveLength(n(p.lr_shape));
      expect(p.cond).toHaveLength(n(p.cond_shape));
    }
  });
});
