/** Method, scale and the Faithful ↔ Detailed knob, with what the knob implies (N, calls, time). */
import { useId } from 'react';
import type { Scale } from '../../shared/types';
import { combineSources, knobFacts, modelFor, naturalModelFor, onCpu, sourceNote } from '../estimate';
import type { SpeedSource } from '../../shared/types';
import { fmtMs, plural } from '../format';
import { useApp } from '../store';

export interface RestoreChoice {
  method: string;
  scale: Scale;
  fidelity: number;
}

export interface KnobPanelProps {
  value: RestoreChoice;
  onChange(v: RestoreChoice): void;
  /** Input sizes (px) of the photos this applies to, for the time estimate. */
  sizes: { w: number; h: number }[];
  /** What the estimate is for: "this photo", "3 photos". */
  estimateFor: string;
  compact?: boolean;
  /** Method portrait: how many faces will be restored (known once faces were found). */
  faces?: number;
}

export function KnobPanel({ value, onChange, sizes, estimateFor, compact, faces }: KnobPanelProps) {
  const { methods, models, settings } = useApp();
  const id = useId();
  const method = methods.find((m) => m.id === value.method);
  const scales = (method?.scales?.length ? method.scales : [2, 4, 8]) as Scale[];
  const model = modelFor(value.method, models, methods, value.scale);
  const sampler = settings?.defaultSampler ?? 'skipdiff';
  const isClassic = method?.kind === 'classic' || (!model && method?.kind !== 'auto');

  let calls = 0;
  let estMs: number | null = 0;
  let tiles = 0;
  let facts = knobFacts(model, sampler, value.fidelity, 1, 1);
  const portrait = value.method === 'portrait';
  let estimateText: string | null = null;
  /** Where the speed behind the estimate comes from; `unmeasured` names a model without any. */
  let speed: ReturnType<typeof combineSources> = null;
  let unmeasured: string | null = null;
  if (portrait) {
    // Each face is one 128² run of the face model; the rest is the natural model's (or Lanczos).
    // Portrait runs both on the CPU, so their CPU speeds apply.
    facts = knobFacts(onCpu(model), sampler, value.fidelity, 128, 128);
    calls = facts.calls;
    const natural = onCpu(naturalModelFor(models, value.scale));
    let bg: number | null = 0;
    let bgSource: SpeedSource | null = null;
    for (const s of sizes) {
      const f = natural ? knobFacts(natural, sampler, value.fidelity, s.w * value.scale, s.h * value.scale) : null;
      if (f) bg = bg == null || f.estMs == null ? null : bg + f.estMs;
      bgSource ??= f?.estSource ?? null;
    }
    const perFace = facts.estMs;
    const rest = natural ? `the ${natural.id} enlargement` : 'a Lanczos enlargement';
    const restMs = natural ? bg : 0;
    if (faces === 0) {
      estimateText = natural && restMs != null ? `no face to restore: ≈ ${fmtMs(restMs)} for ${rest}` : `no face to restore: ${rest} only`;
      speed = natural ? bgSource : null;
      if (natural && restMs == null) unmeasured = natural.id;
    } else if (perFace == null || restMs == null) {
      estimateText = 'unknown';
      unmeasured = (perFace == null ? model?.id : natural?.id) ?? 'model';
    } else {
      speed = combineSources(facts.estSource, natural ? bgSource : null);
      if (faces == null) estimateText = `≈ ${fmtMs(perFace)} per face, plus ${rest}${natural ? ` (≈ ${fmtMs(restMs)})` : ''}`;
      else estimateText = `≈ ${fmtMs(perFace * faces + restMs)} for ${plural(faces, 'face')}${natural ? ` and ${rest}` : `, plus ${rest}`}`;
    }
  } else {
    const sources: (SpeedSource | null)[] = [];
    for (const s of sizes) {
      facts = knobFacts(model, sampler, value.fidelity, s.w * value.scale, s.h * value.scale);
      calls = facts.calls;
      tiles += facts.tiles;
      if (estMs != null) estMs = facts.estMs == null ? null : estMs + facts.estMs;
      sources.push(facts.estSource);
    }
    if (estMs == null) unmeasured = model?.id ?? 'model';
    else speed = combineSources(...sources);
  }
  const speedText = unmeasured ? `${unmeasured} not measured yet` : speed ? sourceNote(speed) : 'not needed';

  const setMethod = (m: string) => {
    const info = methods.find((x) => x.id === m);
    const sc = info?.scales?.length && !info.scales.includes(value.scale) ? (info.scales[0] as Scale) : value.scale;
    onChange({ ...value, method: m, scale: sc });
  };

  return (
    <div className={`knob-panel${compact ? ' compact' : ''}`}>
      <div className="row2">
        <label className="field">
          <span>Method</span>
          <select value={value.method} onChange={(e) => setMethod(e.target.value)}>
            {methods.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
            {!methods.some((m) => m.id === value.method) && <option value={value.method}>{value.method}</option>}
          </select>
        </label>
        <fieldset className="field scale-field">
          <legend>Scale</legend>
          <div className="segmented">
            {([2, 4, 8] as Scale[]).map((s) => (
              <label key={s} className={`seg${value.scale === s ? ' on' : ''}${scales.includes(s) ? '' : ' off'}`}>
                <input
                  type="radio"
                  name={`${id}-scale`}
                  value={s}
                  checked={value.scale === s}
                  disabled={!scales.includes(s)}
                  onChange={() => onChange({ ...value, scale: s })}
                />
                {s}×
              </label>
            ))}
          </div>
        </fieldset>
      </div>

      <div className={`knob${isClassic || !facts.knobApplies ? ' disabled' : ''}`}>
        <div className="knob-head">
          <label htmlFor={`${id}-knob`}>Knob</label>
          <output htmlFor={`${id}-knob`} className="knob-value">
            {value.fidelity.toFixed(2)}
          </output>
        </div>
        <input
          id={`${id}-knob`}
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={value.fidelity}
          disabled={isClassic || !facts.knobApplies}
          aria-valuetext={`${value.fidelity.toFixed(2)}, ${value.fidelity < 0.34 ? 'faithful' : value.fidelity > 0.66 ? 'detailed' : 'balanced'}${facts.n != null ? `, split point N ${facts.n}` : ''}`}
          aria-describedby={`${id}-facts`}
          onChange={(e) => onChange({ ...value, fidelity: Number(e.target.value) })}
        />
        <div className="knob-ends" aria-hidden="true">
          <span>Faithful</span>
          <span>Detailed</span>
        </div>
      </div>

      <dl className="knob-facts" id={`${id}-facts`} aria-live="polite">
        {isClassic ? (
          <>
            <div>
              <dt>Method</dt>
              <dd>Classic resampling: no knob, no invented detail</dd>
            </div>
            <div className="two-lines">
              <dt>Estimated time</dt>
              <dd>about a second for {estimateFor}</dd>
            </div>
            <div className="reserve">
              <dt>&nbsp;</dt>
              <dd>&nbsp;</dd>
            </div>
            <div className="reserve">
              <dt>&nbsp;</dt>
              <dd>&nbsp;</dd>
            </div>
          </>
        ) : (
          <>
            <div>
              <dt>Split point</dt>
              <dd data-testid="split-n">{facts.n != null ? `N = ${facts.n}` : 'not used by this sampler'}</dd>
            </div>
            <div>
              <dt>Call budget</dt>
              <dd data-testid="calls">
                {facts.fineIsMax ? '≤ ' : ''}
                {calls} calls per {portrait ? 'face' : 'tile'} ({facts.coarse} coarse + {facts.fineIsMax ? `up to ${facts.fine}` : facts.fine} fine)
              </dd>
            </div>
            <div className="two-lines">
              <dt>Estimated time</dt>
              <dd data-testid="estimate">
                {estimateText ?? (estMs == null ? 'unknown' : `≈ ${fmtMs(estMs)} for ${estimateFor} (${plural(tiles, 'tile')})`)}
              </dd>
            </div>
            <div>
              <dt>Speed from</dt>
              <dd data-testid="speed-source">{speedText}</dd>
            </div>
          </>
        )}
      </dl>
    </div>
  );
}
