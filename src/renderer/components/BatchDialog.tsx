/** Restore a selection of photos with one setting. */
import { useState } from 'react';
import { isClassicMethod, type Photo, type Scale } from '../../shared/types';
import { call, errorLine } from '../api';
import { plural } from '../format';
import { useApp } from '../store';
import { KnobPanel, type RestoreChoice } from './KnobPanel';
import { Modal } from './Modal';
import { FormActions } from './FormActions';

export function BatchDialog({ photos, onClose }: { photos: Photo[]; onClose(): void }) {
  const { settings, mergeJobs, setQueueOpen, toast } = useApp();
  const first = photos.length === 1 ? photos[0].prefs : null;
  const [choice, setChoice] = useState<RestoreChoice>({
    method: first?.method ?? settings?.defaultMethod ?? 'lanczos',
    scale: (first?.scale ?? settings?.defaultScale ?? 4) as Scale,
    fidelity: first?.fidelity ?? settings?.defaultFidelity ?? 0.5,
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const classic = isClassicMethod(choice.method);
      const r = await call('jobs.enqueue', {
        photoIds: photos.map((p) => p.id),
        params: { ...choice, seed: 0, ...(classic ? {} : { sampler: settings?.defaultSampler ?? 'skipdiff' }) },
      });
      mergeJobs(r.jobs);
      toast(`Queued ${plural(r.jobs.length, 'photo')}`, 'ok');
      setQueueOpen(true);
      onClose();
    } catch (e) {
      setError(errorLine(e));
      setBusy(false);
    }
  };

  return (
    <Modal title={photos.length > 1 ? `Restore ${plural(photos.length, 'photo')}` : `Restore ${photos[0]?.name ?? ''}`} onClose={onClose} id="batch" className="batch">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <p className="muted">One setting for all. Each photo gets its own result; the originals are not changed.</p>
        <KnobPanel value={choice} onChange={setChoice} sizes={photos.map((p) => ({ w: p.width, h: p.height }))} estimateFor={photos.length > 1 ? plural(photos.length, 'photo') : 'this photo'} />
        <FormActions error={error} onCancel={onClose} submit={photos.length > 1 ? `Restore ${photos.length} photos` : 'Restore'} disabled={busy || photos.length === 0} />
      </form>
    </Modal>
  );
}
