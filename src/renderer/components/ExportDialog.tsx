/** Export one result: format, quality, metadata, then the save dialog and results.export. */
import { useEffect, useRef, useState } from 'react';
import type { OutputFormat, Result } from '../../shared/types';
import { call, errorLine } from '../api';
import { fmtBytes } from '../format';
import { useApp } from '../store';
import { FormatFields } from './FormatFields';
import { FormActions } from './FormActions';

export function ExportDialog({ result, onClose }: { result: Result; onClose(): void }) {
  const { settings, toast } = useApp();
  const ref = useRef<HTMLDialogElement>(null);
  const [format, setFormat] = useState<OutputFormat>(settings?.outputFormat ?? 'png');
  const [quality, setQuality] = useState(settings?.outputQuality ?? 92);
  const [keep, setKeep] = useState(settings?.keepMetadata ?? true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    ref.current?.showModal();
  }, []);

  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      const { path } = await call('dialog.saveResult', { id: result.id, format });
      if (!path) {
        setBusy(false);
        return;
      }
      // The save dialog asked before replacing an existing file, so a path it returns may be overwritten
      // (results.export still refuses any imported original).
      const r = await call('results.export', { id: result.id, path, format, quality, keepMetadata: keep, overwrite: true });
      toast(`Exported to ${r.path} (${fmtBytes(r.bytes)})`, 'ok');
      onClose();
    } catch (e) {
      setError(errorLine(e));
      setBusy(false);
    }
  };

  return (
    <dialog ref={ref} className="modal" onClose={onClose} aria-labelledby="export-title">
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          void go();
        }}
      >
        <h2 id="export-title">Export result</h2>
        <p className="muted">
          {result.width}×{result.height} px. You choose where it goes next.
        </p>
        <FormatFields format={format} quality={quality} onFormat={setFormat} onQuality={setQuality} control="buttons" />
        <label className="check-field">
          <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.target.checked)} />
          <span>Keep the original's metadata (EXIF, colour profile)</span>
        </label>
        <FormActions error={error} onCancel={onClose} submit={busy ? 'Exporting…' : 'Choose file and export…'} disabled={busy} />
      </form>
    </dialog>
  );
}
