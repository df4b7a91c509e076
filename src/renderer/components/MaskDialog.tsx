import { useEffect, useRef, useState } from 'react';
import type { Photo } from '../../shared/types';
import { call, errorLine, mediaUrl } from '../api';
import { Modal } from './Modal';

/**
 * The damage mask brush (issue 17): paint the scratches, cracks and stains of the photo (red), erase
 * with the eraser; Save stores the mask in the library (white = damaged, the photo's size) and the
 * photo's restores repair those pixels. The canvas has the photo's own pixels, shown over the photo.
 */
export function MaskDialog({ photo, onClose, onSaved }: { photo: Photo; onClose(): void; onSaved(p: Photo, message: string): void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const last = useRef<{ x: number; y: number } | null>(null);
  const [radius, setRadius] = useState(() => Math.max(2, Math.round(Math.min(photo.width, photo.height) / 150)));
  const [erase, setErase] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [dirty, setDirty] = useState(false);

  // An existing mask is loaded into the canvas, red where damaged.
  useEffect(() => {
    let gone = false;
    void call('masks.get', { photoId: photo.id })
      .then(async (r) => {
        if (gone || !r.png || !canvas.current) return;
        const img = new Image();
        img.src = `data:image/png;base64,${r.png}`;
        await img.decode();
        const c = canvas.current;
        const g = c.getContext('2d')!;
        g.drawImage(img, 0, 0, c.width, c.height);
        const d = g.getImageData(0, 0, c.width, c.height);
        for (let i = 0; i < d.data.length; i += 4) {
          const on = d.data[i] >= 128;
          d.data[i] = 255;
          d.data[i + 1] = 0;
          d.data[i + 2] = 0;
          d.data[i + 3] = on ? 255 : 0;
        }
        g.putImageData(d, 0, 0);
      })
      .catch((e) => !gone && setError(`Could not load the mask: ${errorLine(e)}`));
    return () => {
      gone = true;
    };
  }, [photo.id]);

  const at = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const c = canvas.current!;
    const b = c.getBoundingClientRect();
    return { x: ((e.clientX - b.left) / b.width) * c.width, y: ((e.clientY - b.top) / b.height) * c.height };
  };
  const stroke = (from: { x: number; y: number }, to: { x: number; y: number }) => {
    const g = canvas.current!.getContext('2d')!;
    g.globalCompositeOperation = erase ? 'destination-out' : 'source-over';
    g.strokeStyle = '#ff0000';
    g.fillStyle = '#ff0000';
    g.lineWidth = radius * 2;
    g.lineCap = 'round';
    g.beginPath();
    g.moveTo(from.x, from.y);
    g.lineTo(to.x, to.y);
    g.stroke();
    g.beginPath();
    g.arc(to.x, to.y, radius, 0, Math.PI * 2);
    g.fill();
    setDirty(true);
  };

  const save = async () => {
    const c = canvas.current!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    const out = document.createElement('canvas');
    out.width = c.width;
    out.height = c.height;
    const o = out.getContext('2d')!;
    const m = o.createImageData(c.width, c.height);
    for (let i = 0; i < d.data.length; i += 4) {
      const v = d.data[i + 3] >= 128 ? 255 : 0;
      m.data[i] = m.data[i + 1] = m.data[i + 2] = v;
      m.data[i + 3] = 255;
    }
    o.putImageData(m, 0, 0);
    setBusy(true);
    setError(null);
    try {
      const p = await call('masks.save', { photoId: photo.id, png: out.toDataURL('image/png') });
      onSaved(p, p.prefs?.repair ? 'Damage mask saved: restores repair the painted pixels' : 'Empty mask: nothing to repair');
    } catch (e) {
      setError(errorLine(e));
    } finally {
      setBusy(false);
    }
  };
  const clear = async () => {
    setBusy(true);
    try {
      const p = await call('masks.clear', { photoId: photo.id });
      onSaved(p, 'Damage mask removed');
    } catch (e) {
      setError(errorLine(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={`Damage mask — ${photo.name}`} onClose={onClose} id="mask" className="mask-dialog">
      <p className="muted">Paint over scratches, cracks, stains and dust. The painted pixels are re-drawn from their surroundings when the photo is restored.</p>
      <div className="mask-tools" role="toolbar" aria-label="Brush">
        <div className="segmented" role="radiogroup" aria-label="Tool">
          <button className={`seg ${erase ? '' : 'on'}`} role="radio" aria-checked={!erase} onClick={() => setErase(false)}>
            Paint
          </button>
          <button className={`seg ${erase ? 'on' : ''}`} role="radio" aria-checked={erase} onClick={() => setErase(true)}>
            Erase
          </button>
        </div>
        <label className="field-inline">
          <span>Brush</span>
          <input type="range" min={1} max={Math.max(8, Math.round(Math.min(photo.width, photo.height) / 20))} value={radius} onChange={(e) => setRadius(Number(e.target.value))} aria-label="Brush radius in photo pixels" />
          <span className="muted">{radius} px</span>
        </label>
      </div>
      <div className="mask-stage" style={{ width: `min(100%, calc(66vh * ${photo.width / photo.height}))` }}>
        <img src={mediaUrl('original', photo.id)} alt={photo.name} draggable={false} />
        <canvas
          ref={canvas}
          width={photo.width}
          height={photo.height}
          data-testid="mask-canvas"
          aria-label="Damage mask: drag to paint"
          onPointerDown={(e) => {
            e.currentTarget.setPointerCapture(e.pointerId);
            const p = at(e);
            last.current = p;
            stroke(p, p);
          }}
          onPointerMove={(e) => {
            if (!last.current) return;
            const p = at(e);
            stroke(last.current, p);
            last.current = p;
          }}
          onPointerUp={() => (last.current = null)}
          onPointerCancel={() => (last.current = null)}
        />
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="modal-actions">
        <button className="btn ghost" onClick={() => void clear()} disabled={busy || !photo.prefs?.repair}>
          Remove mask
        </button>
        <button className="btn" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button className="btn primary" onClick={() => void save()} disabled={busy || !dirty}>
          Save mask
        </button>
      </div>
    </Modal>
  );
}
