/** Output format (PNG / JPEG / WebP) and quality: the export dialog's and the settings' fields. */
import { useId } from 'react';
import type { OutputFormat } from '../../shared/types';

export const OUTPUT_FORMATS: { id: OutputFormat; label: string; note?: string }[] = [
  { id: 'png', label: 'PNG', note: 'lossless' },
  { id: 'jpeg', label: 'JPEG' },
  { id: 'webp', label: 'WebP' },
];

export interface FormatFieldsProps {
  format: OutputFormat;
  quality: number;
  onFormat(f: OutputFormat): void;
  onQuality(q: number): void;
  /** Segmented buttons (a dialog with room) or a drop-down (a dense form). */
  control?: 'buttons' | 'select';
}

export function FormatFields({ format, quality, onFormat, onQuality, control = 'buttons' }: FormatFieldsProps) {
  const id = useId();
  const lossless = format === 'png';
  return (
    <>
      {control === 'buttons' ? (
        <fieldset className="field">
          <legend>Format</legend>
          <div className="segmented">
            {OUTPUT_FORMATS.map((f) => (
              <label key={f.id} className={`seg${format === f.id ? ' on' : ''}`}>
                <input type="radio" name={`${id}-format`} value={f.id} checked={format === f.id} onChange={() => onFormat(f.id)} />
                {f.label}
              </label>
            ))}
          </div>
        </fieldset>
      ) : (
        <label className="field">
          <span>Format</span>
          <select value={format} onChange={(e) => onFormat(e.target.value as OutputFormat)}>
            {OUTPUT_FORMATS.map((f) => (
              <option key={f.id} value={f.id}>
                {f.note ? `${f.label} (${f.note})` : f.label}
              </option>
            ))}
          </select>
        </label>
      )}
      <div className="field">
        <label htmlFor={`${id}-quality`}>
          Quality <span className="value">{lossless ? 'lossless' : quality}</span>
        </label>
        <input id={`${id}-quality`} type="range" min={1} max={100} value={quality} disabled={lossless} onChange={(e) => onQuality(Number(e.target.value))} />
      </div>
    </>
  );
}
