/** Settings: threads, provider, precision, defaults, output, metadata, theme. Saved through settings.set. */
import { useState } from 'react';
import { PRECISION_SETTINGS, PROVIDER_SETTINGS, type PrecisionSetting, type ProviderSetting, type Settings } from '../../shared/types';
import { errorLine } from '../api';
import { useApp } from '../store';
import { FormatFields } from './FormatFields';
import { Modal } from './Modal';
import { FormActions } from './FormActions';

/** Labels of the shared lists (a new provider or precision without a label fails the type check). */
const PROVIDER_LABELS: Record<ProviderSetting, string> = {
  auto: 'Automatic (GPU if one works)',
  cpu: 'CPU',
  webgpu: 'GPU: WebGPU',
  dml: 'GPU: DirectML (Windows)',
  coreml: 'CoreML (macOS)',
  cuda: 'GPU: CUDA',
};
const PRECISION_LABELS: Record<PrecisionSetting, string> = {
  auto: 'Automatic (int8 where checked)',
  fp32: 'Full (fp32)',
  int8: 'int8 on the CPU',
};

const SAMPLERS: [string, string][] = [
  ['skipdiff', 'SkipDiff (coarse + learned skips)'],
  ['csa', 'Coarse only (fastest, softest)'],
  ['fixed:10', 'Coarse + 10 fixed fine steps'],
  ['ddim:50', 'DDIM, 50 steps (slow reference)'],
  ['ddpm:100', 'DDPM, 100 steps (slowest reference)'],
];

export function SettingsDialog({ onClose }: { onClose(): void }) {
  const { settings, saveSettings, methods } = useApp();
  const [draft, setDraft] = useState<Settings | null>(settings);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency || 4 : 4;

  if (!draft) return null;
  const set = <K extends keyof Settings>(k: K, v: Settings[K]) => setDraft({ ...draft, [k]: v });
  const samplers = SAMPLERS.some(([id]) => id === draft.defaultSampler) ? SAMPLERS : [...SAMPLERS, [draft.defaultSampler, draft.defaultSampler] as [string, string]];

  const save = async () => {
    setSaving(true);
    setError(null);
    try {
      await saveSettings(draft);
      onClose();
    } catch (e) {
      setError(errorLine(e));
      setSaving(false);
    }
  };

  return (
    <Modal title="Settings" onClose={onClose} id="settings" className="settings">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <div className="settings-grid">
          <fieldset>
            <legend>Appearance</legend>
            <div className="segmented" role="radiogroup" aria-label="Theme">
              {(['system', 'light', 'dark'] as const).map((t) => (
                <label key={t} className={`seg${draft.theme === t ? ' on' : ''}`}>
                  <input type="radio" name="theme" value={t} checked={draft.theme === t} onChange={() => set('theme', t)} />
                  {t === 'system' ? 'Like the system' : t === 'light' ? 'Light' : 'Dark'}
                </label>
              ))}
            </div>
          </fieldset>

          <fieldset>
            <legend>New restores start with</legend>
            <label className="field">
              <span>Method</span>
              <select value={draft.defaultMethod} onChange={(e) => set('defaultMethod', e.target.value)}>
                {methods.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.label}
                  </option>
                ))}
                {!methods.some((m) => m.id === draft.defaultMethod) && <option value={draft.defaultMethod}>{draft.defaultMethod}</option>}
              </select>
            </label>
            <label className="field">
              <span>Scale</span>
              <select value={draft.defaultScale} onChange={(e) => set('defaultScale', Number(e.target.value) as Settings['defaultScale'])}>
                <option value={2}>2×</option>
                <option value={4}>4×</option>
                <option value={8}>8×</option>
              </select>
            </label>
            <div className="field">
              <label htmlFor="set-knob">
                Knob <span className="value">{draft.defaultFidelity.toFixed(2)}</span>
              </label>
              <input id="set-knob" type="range" min={0} max={1} step={0.01} value={draft.defaultFidelity} onChange={(e) => set('defaultFidelity', Number(e.target.value))} aria-valuetext={`${draft.defaultFidelity.toFixed(2)} (0 faithful, 1 detailed)`} />
              <span className="knob-ends" aria-hidden="true">
                <span>Faithful</span>
                <span>Detailed</span>
              </span>
            </div>
            <label className="field">
              <span>Sampler</span>
              <select value={draft.defaultSampler} onChange={(e) => set('defaultSampler', e.target.value)}>
                {samplers.map(([id, label]) => (
                  <option key={id} value={id}>
                    {label}
                  </option>
                ))}
              </select>
            </label>
          </fieldset>

          <fieldset>
            <legend>Output</legend>
            <label className="field">
              <span>Folder for results</span>
              <input
                type="text"
                value={draft.outputDir ?? ''}
                placeholder="Inside the library (default)"
                onChange={(e) => set('outputDir', e.target.value.trim() ? e.target.value : null)}
                spellCheck={false}
              />
            </label>
            <FormatFields
              format={draft.outputFormat}
              quality={draft.outputQuality}
              onFormat={(f) => set('outputFormat', f)}
              onQuality={(q) => set('outputQuality', q)}
              control="select"
            />
            <label className="check-field">
              <input type="checkbox" checked={draft.keepMetadata} onChange={(e) => set('keepMetadata', e.target.checked)} />
              <span>Keep the original's metadata (EXIF, colour profile)</span>
            </label>
          </fieldset>

          <fieldset>
            <legend>Performance</legend>
            <div className="field">
              <label htmlFor="set-threads">Threads</label>
              <input id="set-threads" type="number" min={1} max={256} value={draft.threads} aria-describedby="set-threads-hint" onChange={(e) => set('threads', Math.max(1, Math.min(256, Math.floor(Number(e.target.value) || 1))))} />
              <span className="hint" id="set-threads-hint">This computer has {cores} logical cores.</span>
            </div>
            <label className="field">
              <span>Compute</span>
              <select value={draft.provider} onChange={(e) => set('provider', e.target.value as Settings['provider'])}>
                {PROVIDER_SETTINGS.map((p) => (
                  <option key={p} value={p}>
                    {PROVIDER_LABELS[p]}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>Precision</span>
              <select value={draft.precision} aria-describedby="set-precision-hint" onChange={(e) => set('precision', e.target.value as Settings['precision'])}>
                {PRECISION_SETTINGS.map((p) => (
                  <option key={p} value={p}>
                    {PRECISION_LABELS[p]}
                  </option>
                ))}
              </select>
              <span className="hint" id="set-precision-hint">A model's int8 version runs on the CPU about 1.4× faster; Automatic uses it where it passed its quality check (within 0.05 dB of full precision). GPUs always run full precision.</span>
            </label>
          </fieldset>
        </div>
        <FormActions error={error} onCancel={onClose} submit={saving ? 'Saving…' : 'Save'} disabled={saving} />
      </form>
    </Modal>
  );
}
