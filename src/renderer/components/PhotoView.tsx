/** One photo: before/after viewer, knob, preview under a loupe, restore, results with facts, export, delete. */
import { useEffect, useMemo, useRef, useState } from 'react';
import { isClassicMethod, type Job, type Photo, type Result, type Scale } from '../../shared/types';
import { call, errorLine, mediaUrl } from '../api';
import { fmtBytes, fmtDate, fmtMs, fmtTime } from '../format';
import { useDebouncedCallback } from '../hooks/useDebounced';
import { useFaces } from '../hooks/useFaces';
import { useResults } from '../hooks/useResults';
import { useShortcuts } from '../shortcuts';
import { useApp, useJobs } from '../store';
import { ExportDialog } from './ExportDialog';
import { FaceOutlines, FacesPanel } from './Faces';
import { KnobPanel, type RestoreChoice } from './KnobPanel';
import { MaskDialog } from './MaskDialog';
import { ResultFacts, describeResult, resultRegion } from './ResultFacts';
import { Viewer, type Layer, type Rect, type Side, type ViewMode, type ViewerHandle } from './Viewer';

export function previewSize(scale: number): number {
  return scale >= 8 ? 32 : scale >= 4 ? 64 : 128;
}

function clampRect(r: Rect, W: number, H: number): Rect {
  const w = Math.min(r.w, W);
  const h = Math.min(r.h, H);
  return { w, h, x: Math.max(0, Math.min(W - w, Math.round(r.x))), y: Math.max(0, Math.min(H - h, Math.round(r.y))) };
}

export function PhotoView({ photoId, initial, onBack, active }: { photoId: number; initial?: Photo; onBack(): void; active: boolean }) {
  const { settings, methods, mergeJobs, toast, setQueueOpen } = useApp();
  const { jobs } = useJobs();
  const [photo, setPhoto] = useState<Photo | null>(initial && initial.id === photoId ? initial : null);
  const [mode, setMode] = useState<ViewMode>('slider');
  const [loupeOn, setLoupeOn] = useState(true);
  const [loupe, setLoupe] = useState<Rect | null>(null);
  const [zoom, setZoom] = useState(1);
  const [choice, setChoice] = useState<RestoreChoice | null>(null);
  const [seed, setSeed] = useState(0);
  const [exporting, setExporting] = useState<Result | null>(null);
  const [confirmDel, setConfirmDel] = useState<number | null>(null);
  const viewer = useRef<ViewerHandle>(null);
  // Damage repair: off, the detector, or the mask painted for this photo (MaskDialog).
  const [repair, setRepair] = useState<'off' | 'detect' | 'mask' | null>(null);
  const [maskOpen, setMaskOpen] = useState(false);
  const repairChoice = repair ?? (photo?.prefs?.repair ? 'mask' : 'off');

  // ---- load
  useEffect(() => {
    let alive = true;
    call('library.get', { id: photoId })
      .then((p) => alive && setPhoto(p))
      .catch((e) => alive && toast(`Could not open the photo: ${errorLine(e)}`, 'error'));
    return () => {
      alive = false;
    };
  }, [photoId, toast]);

  // ---- results: A shown, B compared; jobs started here are tracked
  const { results, aId, setAId, bSel, setBSel, track, remove } = useResults(photoId);

  // ---- restore settings: per-photo prefs, else defaults
  useEffect(() => {
    if (!photo || !settings || choice) return;
    setChoice({
      method: photo.prefs?.method ?? settings.defaultMethod,
      scale: (photo.prefs?.scale ?? settings.defaultScale) as Scale,
      fidelity: photo.prefs?.fidelity ?? settings.defaultFidelity,
    });
  }, [photo, settings, choice]);

  const rememberChoice = useDebouncedCallback((id: number, c: RestoreChoice) => {
    call('library.setPrefs', { id, prefs: { fidelity: c.fidelity, scale: c.scale, method: c.method } })
      .then((p) => setPhoto(p))
      .catch((e) => toast(`Could not remember the settings: ${errorLine(e)}`, 'error'));
  }, 400);
  const changeChoice = (c: RestoreChoice) => {
    setChoice(c);
    rememberChoice(photoId, c);
  };

  // ---- loupe follows scale
  const W = photo?.width ?? 1;
  const H = photo?.height ?? 1;
  const scale = choice?.scale ?? 4;
  useEffect(() => {
    if (!photo) return;
    const s = previewSize(scale);
    setLoupe((l) => {
      const cx = l ? l.x + l.w / 2 : W / 2;
      const cy = l ? l.y + l.h / 2 : H / 2;
      return clampRect({ x: cx - s / 2, y: cy - s / 2, w: s, h: s }, W, H);
    });
  }, [photo, scale, W, H]);

  // ---- faces (method portrait): found by faces.detect, edited by the user, sent with the restore
  const portrait = choice?.method === 'portrait';
  const canPortrait = methods.some((m) => m.id === 'portrait');
  const faces = useFaces({
    photoId,
    photo,
    portrait,
    scale,
    onPhoto: setPhoto,
    onFirstFace: (box) => setLoupe((l) => (l ? clampRect({ ...l, x: box.x + box.w / 2 - l.w / 2, y: box.y + box.h / 2 - l.h / 2 }, W, H) : l)),
    viewCentre: () => viewer.current?.view(),
  });

  // ---- jobs of this photo
  const myJobs = useMemo(() => jobs.filter((j) => j.photoId === photoId && (j.state === 'queued' || j.state === 'running')), [jobs, photoId]);

  const enqueue = async (kind: 'restore' | 'preview') => {
    if (!choice || !photo || !settings) return;
    const isClassic = isClassicMethod(choice.method);
    const params = {
      scale: choice.scale,
      method: choice.method,
      fidelity: choice.fidelity,
      seed,
      ...(isClassic ? {} : { sampler: settings.defaultSampler }),
      ...(kind === 'preview' && loupe ? { region: clampRect(loupe, W, H) } : {}),
      ...(faces.params ?? {}),
      // 'off' explicitly: without a repair the queue uses the photo's painted mask.
      ...(repairChoice === 'detect' ? { repair: 'detect' as const } : repairChoice === 'mask' && photo.prefs?.repair ? { repair: photo.prefs.repair } : { repair: 'off' as const }),
    };
    try {
      const r = await call('jobs.enqueue', { photoIds: [photoId], params });
      track(r.jobs.map((j) => j.id));
      mergeJobs(r.jobs);
    } catch (e) {
      toast(`Could not start: ${errorLine(e)}`, 'error');
    }
  };

  const cancel = async (j: Job) => {
    try {
      mergeJobs([await call('jobs.cancel', { id: j.id })]);
    } catch (e) {
      toast(`Could not cancel: ${errorLine(e)}`, 'error');
    }
  };

  const del = async (r: Result) => {
    setConfirmDel(null);
    await remove(r);
  };

  const reveal = async () => {
    try {
      await call('library.reveal', { id: photoId });
    } catch (e) {
      toast(`Could not show the file: ${errorLine(e)}`, 'error');
    }
  };

  const knobStep = (d: number) => void (choice && changeChoice({ ...choice, fidelity: Math.round(Math.max(0, Math.min(1, choice.fidelity + d)) * 100) / 100 }));

  useShortcuts(
    {
      escape: () => (faces.addMode ? faces.stopAdding() : onBack()),
      backspace: () => onBack(),
      r: () => void enqueue('restore'),
      p: () => void enqueue('preview'),
      '[': () => knobStep(-0.05),
      ']': () => knobStep(0.05),
      '+': () => viewer.current?.zoomIn(),
      '=': () => viewer.current?.zoomIn(),
      '-': () => viewer.current?.zoomOut(),
      '0': () => viewer.current?.fit(),
      '1': () => viewer.current?.actual(),
      s: () => setMode((m) => (m === 'side' ? 'slider' : 'side')),
      f: () => {
        if (mode !== 'flick') setMode('flick');
        else viewer.current?.flick();
      },
      l: () => setLoupeOn((v) => !v),
    },
    active,
  );

  // ---- what the viewer shows
  const A = results?.find((r) => r.id === aId) ?? null;
  const B = typeof bSel === 'number' ? results?.find((r) => r.id === bSel) ?? null : null;
  const original: Layer = { key: 'orig', src: mediaUrl('original', photoId), x: 0, y: 0, w: W, h: H };
  const layersOf = (r: Result): Layer[] => {
    const g = resultRegion(r);
    const res: Layer = { key: `r${r.id}`, src: mediaUrl('result', r.id), ...(g ?? { x: 0, y: 0, w: W, h: H }) };
    return g ? [{ ...original, key: `orig-dim-${r.id}`, dim: true }, res] : [res];
  };
  const right: Side | null = A ? { label: `A · ${describeResult(A)}`, layers: layersOf(A) } : photo ? { label: 'Original', layers: [original] } : null;
  const left: Side | null = A
    ? B
      ? { label: `B · ${describeResult(B)}`, layers: layersOf(B) }
      : { label: 'Before · original, enlarged', layers: [original] }
    : null;
  const frame: Rect = A ? resultRegion(A) ?? { x: 0, y: 0, w: W, h: H } : { x: 0, y: 0, w: W, h: H };
  const frameScale = A ? A.scale : scale;

  const running = myJobs.find((j) => j.state === 'running') ?? myJobs[0];
  const restores = results?.filter((r) => r.kind === 'restore') ?? [];
  const previews = results?.filter((r) => r.kind === 'preview') ?? [];

  const resultRow = (r: Result) => (
    <li key={r.id} className={`result-row${r.id === aId ? ' current' : ''}${r.id === bSel ? ' compared' : ''}`} data-result-id={r.id}>
      <button className="result-main" onClick={() => setAId(r.id)} aria-pressed={r.id === aId} aria-label={`Show result: ${describeResult(r)}, ${fmtTime(r.createdAt)}`}>
        <img src={mediaUrl('result', r.id)} alt="" loading="lazy" className="result-thumb" />
        <span className="result-text">
          <span className="result-title">{describeResult(r)}</span>
          <span className="result-sub">
            {r.kind === 'preview' ? 'Preview · ' : ''}
            {r.width}×{r.height} · {fmtMs(r.durationMs)} · {fmtTime(r.createdAt)}
          </span>
        </span>
        {r.id === aId && <span className="tag a">A</span>}
        {r.id === bSel && <span className="tag b">B</span>}
      </button>
      <div className="result-actions">
        <button
          className="btn small"
          aria-pressed={r.id === bSel}
          disabled={r.id === aId}
          onClick={() => setBSel(bSel === r.id ? 'original' : r.id)}
          title="Compare the shown result (A) with this one (B)"
        >
          {r.id === bSel ? 'Comparing' : 'Compare'}
        </button>
        <button className="btn small" onClick={() => setExporting(r)}>
          Export…
        </button>
        {confirmDel === r.id ? (
          <button className="btn small danger" onClick={() => void del(r)} onBlur={() => setConfirmDel(null)} autoFocus>
            Really delete?
          </button>
        ) : (
          <button className="btn small" onClick={() => setConfirmDel(r.id)} aria-label={`Delete result ${describeResult(r)}`}>
            Delete
          </button>
        )}
      </div>
    </li>
  );

  return (
    <section className="photo-view" aria-label={photo ? `Photo ${photo.name}` : 'Photo'}>
      <div className="photo-head">
        <button className="btn ghost" onClick={onBack} title="Esc">
          ← Library
        </button>
        <div className="photo-title">
          <h1>{photo?.name ?? 'Loading…'}</h1>
          {photo && (
            <span className="muted">
              {photo.width}×{photo.height} · {photo.format.toUpperCase()} · {fmtBytes(photo.size)} · added {fmtDate(photo.addedAt)}
              {photo.missing ? ' · file missing' : ''}
            </span>
          )}
        </div>
        <button className="btn ghost" onClick={reveal}>
          Show in folder
        </button>
      </div>

      <div className="photo-body">
        <div className="stage">
          <div className="stage-bar" role="toolbar" aria-label="View">
            <div className="segmented" role="group" aria-label="Compare mode">
              {(
                [
                  ['slider', 'Slider'],
                  ['side', 'Side by side'],
                  ['flick', 'Flick'],
                ] as [ViewMode, string][]
              ).map(([m, label]) => (
                <button key={m} className={`seg${mode === m ? ' on' : ''}`} aria-pressed={mode === m} onClick={() => setMode(m)} disabled={!A}>
                  {label}
                </button>
              ))}
            </div>
            {mode === 'flick' && A && (
              <button className="btn small" onClick={() => viewer.current?.flick()} title="F">
                Flick A/B
              </button>
            )}
            <label className="field-inline">
              <span>Compare with</span>
              <select value={String(bSel)} onChange={(e) => setBSel(e.target.value === 'original' ? 'original' : Number(e.target.value))} disabled={!A}>
                <option value="original">Original</option>
                {results
                  ?.filter((r) => r.id !== aId)
                  .map((r) => (
                    <option key={r.id} value={r.id}>
                      {r.kind === 'preview' ? 'Preview ' : ''}
                      {describeResult(r)} ({fmtTime(r.createdAt)})
                    </option>
                  ))}
              </select>
            </label>
            <span className="spacer" />
            {canPortrait && !portrait && choice && (
              <button className="btn small" onClick={() => changeChoice({ ...choice, method: 'portrait' })} title="Switch to Portrait: find the faces and restore them with the face model">
                Find faces
              </button>
            )}
            <label className="check-field small">
              <input type="checkbox" checked={loupeOn} onChange={(e) => setLoupeOn(e.target.checked)} />
              <span>Loupe</span>
            </label>
          </div>
          <div className="viewer-wrap">
            <Viewer
              ref={viewer}
              frame={frame}
              scale={frameScale}
              left={left}
              right={right}
              mode={A ? mode : 'slider'}
              loupe={loupeOn ? loupe : null}
              onLoupe={(r) => setLoupe(clampRect(r, W, H))}
              onZoomChange={setZoom}
              overlay={
                portrait && faces.showOutlines && faces.state.status === 'ready'
                  ? (place) => (
                      <FaceOutlines
                        list={faces.state.list}
                        place={place}
                        hot={faces.hot}
                        photo={{ w: W, h: H }}
                        onToggle={faces.toggle}
                        onChange={faces.move}
                        onRemove={faces.remove}
                        onHot={faces.setHot}
                      />
                    )
                  : undefined
              }
              onDraw={portrait && faces.addMode ? (r) => faces.add(r) : undefined}
              placeholder={photo?.missing ? `The original file is missing (${photo.path}). Results made earlier are still here.` : undefined}
            />
            <div className="zoom overlay" role="group" aria-label="Zoom">
              <button className="btn icon" onClick={() => viewer.current?.zoomOut()} aria-label="Zoom out" title="−">
                −
              </button>
              <span className="zoom-value" data-testid="zoom" aria-live="polite">
                {Math.round(zoom * 100)} %
              </span>
              <button className="btn icon" onClick={() => viewer.current?.zoomIn()} aria-label="Zoom in" title="+">
                +
              </button>
              <button className="btn small" onClick={() => viewer.current?.fit()} title="0">
                Fit
              </button>
              <button className="btn small" onClick={() => viewer.current?.actual()} title="1">
                100 %
              </button>
            </div>
          </div>
          <div className="stage-status" aria-live="polite">
            {faces.addMode ? (
              <span>Drag a box around a face the detector missed. Esc stops drawing.</span>
            ) : running ? (
              <JobLine job={running} more={myJobs.length - 1} onCancel={() => void cancel(running)} onOpenQueue={() => setQueueOpen(true)} />
            ) : A ? (
              <span className="muted">
                {mode === 'slider'
                  ? 'Drag the divider, or focus it and use ← →. Scroll or +/− to zoom, drag the picture to pan.'
                  : mode === 'side'
                    ? 'Both sides zoom and pan together. Scroll or +/− to zoom, drag to pan.'
                    : 'Press F or “Flick A/B” to switch sides in place.'}
              </span>
            ) : (
              <span className="muted">No result yet: press <kbd>P</kbd> to preview the area under the loupe, or <kbd>R</kbd> to restore the whole photo.</span>
            )}
          </div>
        </div>

        <aside className="side" aria-label="Restore and results">
          <section className="panel" aria-labelledby="restore-h">
            <h2 id="restore-h">Restore</h2>
            {choice ? (
              <KnobPanel
                value={choice}
                onChange={changeChoice}
                sizes={[{ w: W, h: H }]}
                estimateFor="this photo"
                faces={portrait && faces.state.status === 'ready' ? faces.state.list.filter((f) => !f.excluded && f.restorable !== false).length : undefined}
              />
            ) : (
              <div className="knob-panel placeholder" />
            )}
            <div className="seed-row">
              <label className="field-inline">
                <span>Seed</span>
                <input type="number" min={0} max={4294967295} value={seed} onChange={(e) => setSeed(Math.max(0, Math.min(4294967295, Math.floor(Number(e.target.value) || 0))))} />
              </label>
              <button className="btn small ghost" onClick={() => setSeed(Math.floor(Math.random() * 2 ** 32))}>
                New seed
              </button>
            </div>
            <div className="repair-row">
              <label className="field-inline">
                <span>Repair damage</span>
                <select value={repairChoice} onChange={(e) => setRepair(e.target.value as 'off' | 'detect' | 'mask')} aria-label="Repair damage">
                  <option value="off">Off</option>
                  <option value="detect">Find scratches automatically</option>
                  <option value="mask" disabled={!photo?.prefs?.repair}>
                    Painted mask
                  </option>
                </select>
              </label>
              <button className="btn small ghost" onClick={() => setMaskOpen(true)} disabled={!photo}>
                {photo?.prefs?.repair ? 'Edit mask…' : 'Paint mask…'}
              </button>
            </div>
            <div className="actions">
              <button className="btn" onClick={() => void enqueue('preview')} disabled={!choice} title="P: restore only the area under the loupe">
                Preview area
              </button>
              <button className="btn primary" onClick={() => void enqueue('restore')} disabled={!choice} title="R">
                Restore photo
              </button>
            </div>
          </section>

          {portrait && choice && (
            <FacesPanel
              state={faces.state}
              knob={choice.fidelity}
              addMode={faces.addMode}
              hot={faces.hot}
              onAddMode={faces.startAdd}
              onToggle={faces.toggle}
              onFidelity={faces.knob}
              onRemove={faces.remove}
              onReset={faces.reset}
              onRetry={faces.retry}
              onHot={faces.setHot}
              showOutlines={faces.showOutlines}
              onShowOutlines={faces.setShowOutlines}
            />
          )}

          <section className="panel results-panel" aria-labelledby="results-h">
            <h2 id="results-h">
              Results <span className="muted">({restores.length} restored, {previews.length} previews)</span>
            </h2>
            <div className="results-scroll">
              {results && results.length === 0 && <p className="muted">Nothing yet. Results appear here as they finish.</p>}
              {restores.length > 0 && (
                <>
                  <h3>Restored</h3>
                  <ul className="results">{restores.map(resultRow)}</ul>
                </>
              )}
              {previews.length > 0 && (
                <>
                  <h3>Previews</h3>
                  <ul className="results">{previews.map(resultRow)}</ul>
                </>
              )}
            </div>
          </section>
          <section className="panel facts-panel" aria-labelledby="facts-h">
            <h2 id="facts-h">{B ? 'A and B' : 'Shown result'}</h2>
            <ResultFacts a={A} b={B} />
          </section>

        </aside>
      </div>
      {exporting && <ExportDialog result={exporting} onClose={() => setExporting(null)} />}
      {maskOpen && photo && (
        <MaskDialog
          photo={photo}
          onClose={() => setMaskOpen(false)}
          onSaved={(p, message) => {
            setPhoto(p);
            setRepair(p.prefs?.repair ? 'mask' : null);
            setMaskOpen(false);
            toast(message, 'ok');
          }}
        />
      )}
    </section>
  );
}

export function JobLine({ job, more, onCancel, onOpenQueue }: { job: Job; more: number; onCancel(): void; onOpenQueue(): void }) {
  const p = job.progress ?? { fraction: 0 };
  const bits: string[] = [];
  if (p.tile) bits.push(`tile ${p.tile.i}/${p.tile.n}`);
  if (p.step) bits.push(`step ${p.step.k}/${p.step.K}`);
  if (p.etaMs != null) bits.push(`about ${fmtMs(p.etaMs)} left`);
  return (
    <div className="job-line">
      <span className="job-line-text">
        {job.state === 'queued' ? 'Waiting' : job.kind === 'preview' ? 'Previewing' : 'Restoring'}… {bits.join(' · ')}
        {more > 0 ? ` (+${more} more)` : ''}
      </span>
      <progress max={1} value={p.fraction ?? 0} aria-label="Progress" />
      <button className="btn small" onClick={onCancel}>
        Cancel
      </button>
      <button className="btn small ghost" onClick={onOpenQueue}>
        Queue
      </button>
    </div>
  );
}
