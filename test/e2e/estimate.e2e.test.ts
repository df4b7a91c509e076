/** What the knob panel says: split point from the card (knobToN), call budget per sampler, time estimate. */
import { describe, expect, it } from 'vitest';
import { knobToN } from '../../src/shared/card';
import type { MethodInfo, ModelInfo } from '../../src/shared/types';
import { knobFacts, modelFor, tilesFor } from '../../src/renderer/estimate';

const model: ModelInfo = { id: 'm', ok: true, knob: [[0, 2], [0.5, 10], [1, 40]], coarseSteps: 10, fineSteps: 100, fixedStrideCalls: 10, hasPolicy: false, msPerCall128: 20, scales: [4] };

describe('knob facts', () => {
  it('N follows the card exactly like knobToN', () => {
    for (let k = 0; k <= 1.0001; k += 0.05) {
      const want = knobToN({ sampler: { knob: model.knob!, coarseSteps: 10, fineSteps: 100, fixedStrideCalls: 10 } }, k);
      expect(knobFacts(model, 'skipdiff', k, 128, 128).n).toBe(want);
    }
    expect(knobFacts(model, 'skipdiff', 0.7, 128, 128).n).toBe(22);
  });

  it('call budget per sampler', () => {
    expect(knobFacts(model, 'skipdiff', 1, 128, 128)).toMatchObject({ coarse: 10, fine: 10, calls: 20, fineIsMax: false }); // fixed stride F=10
    expect(knobFacts(model, 'skipdiff', 0, 128, 128)).toMatchObject({ fine: 2, calls: 12 }); // fewer fine levels than F
    expect(knobFacts({ ...model, hasPolicy: true }, 'skipdiff', 1, 128, 128)).toMatchObject({ fine: 40, calls: 50, fineIsMax: true });
    expect(knobFacts(model, 'csa', 1, 128, 128)).toMatchObject({ fine: 0, calls: 10 });
    expect(knobFacts(model, 'fixed:5', 1, 128, 128)).toMatchObject({ fine: 5, calls: 15 });
    expect(knobFacts(model, 'ddim:50', 1, 128, 128)).toMatchObject({ calls: 50, n: null, knobApplies: false });
  });

  it('time = tiles × calls × ms per 128² call, unknown without a speed', () => {
    expect(tilesFor(1400, 1700)).toBe(11 * 14);
    expect(knobFacts(model, 'skipdiff', 0.5, 256, 256).estMs).toBe(4 * 20 * 20);
    expect(knobFacts({ ...model, msPerCall128: null }, 'skipdiff', 0.5, 256, 256).estMs).toBeNull();
    // The speed's source travels with the estimate (a card's reference unless measured here).
    expect(knobFacts(model, 'skipdiff', 0.5, 256, 256).estSource).toBe('card');
    expect(knobFacts({ ...model, msPerCall128Source: 'measured' }, 'skipdiff', 0.5, 256, 256).estSource).toBe('measured');
  });

  it('classic methods have no model; auto picks a usable model for the scale', () => {
    const methods: MethodInfo[] = [
      { id: 'auto', label: 'Auto', kind: 'auto', scales: [2, 4, 8] },
      { id: 'lanczos', label: 'Lanczos', kind: 'classic', scales: [2, 4, 8] },
      { id: 'm', label: 'm', kind: 'diffusion', scales: [4] },
    ];
    const face: ModelInfo = { ...model, id: 'f', scales: [8] };
    expect(modelFor('lanczos', [model], methods, 4)).toBeUndefined();
    expect(modelFor('m', [model], methods, 4)?.id).toBe('m');
    expect(modelFor('auto', [face, model], methods, 4)?.id).toBe('m');
    expect(modelFor('auto', [face, model], methods, 8)?.id).toBe('f');
  });
});
