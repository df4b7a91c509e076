/**
 * Faces of method `portrait` in the photo view: outlines over the picture (numbered; click or
 * Enter/Space excludes or includes a face; added boxes move with the arrow keys and go with Delete)
 * and the face list beside the knob (include, per-face knob, remove an added face).
 *
 * The list is what restore sends: `faces` = every box in list order (detected, then added),
 * `excludeFaces` = the excluded indices, `faceFidelity` = the knobs set per face.
 */
import { useId, type KeyboardEvent } from 'react';
import type { FaceBox, FaceDetectReport, FaceParams, PhotoPrefs } from '../../shared/types';
import { fmtMs } from '../format';
import type { Placer } from './Viewer';

export interface FaceEntry {
  /** Stable React key. */
  key: number;
  box: FaceBox;
  /** Detector score; null for a box the user drew. */
  score: number | null;
  added: boolean;
  excluded: boolean;
  /** The knob for this face; null = the photo's knob. */
  fidelity: number | null;
  /** From faces.detect at the chosen scale (detected faces only). */
  restorable?: boolean;
  reason?: string;
}

export interface FacesState {
  status: 'idle' | 'finding' | 'ready' | 'error';
  list: FaceEntry[];
  report: FaceDetectReport | null;
  error?: string;
  /** True once the user changed the list (then it is remembered with the photo). */
  edited: boolean;
}

export const noFaces: FacesState = { status: 'idle', list: [], report: null, edited: false };

let nextKey = 1;
export const faceKey = () => nextKey++;

const sameBox = (a: FaceBox, b: FaceBox) => Math.abs(a.x - b.x) < 0.5 && Math.abs(a.y - b.y) < 0.5 && Math.abs(a.w - b.w) < 0.5 && Math.abs(a.h - b.h) < 0.5;

/** The face list from a detection and what the photo remembers (the user's last list, if any). */
export function entriesFrom(report: FaceDetectReport, prefs: PhotoPrefs | null): FaceEntry[] {
  const detected = report.faces;
  const boxes = prefs?.faces ?? detected.map((f) => f.box);
  const ex = new Set(prefs?.excludeFaces ?? []);
  const fid = prefs?.faceFidelity ?? {};
  return boxes.map((box, i) => {
    const d = detected.find((f) => sameBox(f.box, box));
    const f = fid[String(i)];
    return {
      key: faceKey(),
      box: { ...box },
      score: d ? d.score : null,
      added: !d,
      excluded: ex.has(i),
      fidelity: typeof f === 'number' ? f : null,
      ...(d && d.restorable !== undefined ? { restorable: d.restorable } : {}),
      ...(d?.reason ? { reason: d.reason } : {}),
    };
  });
}

/** Updates restorable/reason from a newer report (another scale) without touching the user's edits. */
export function withReport(list: FaceEntry[], report: FaceDetectReport): FaceEntry[] {
  return list.map((e) => {
    const d = e.added ? undefined : report.faces.find((f) => sameBox(f.box, e.box));
    const { restorable: _r, reason: _q, ...rest } = e;
    void _r;
    void _q;
    return d ? { ...rest, ...(d.restorable !== undefined ? { restorable: d.restorable } : {}), ...(d.reason ? { reason: d.reason } : {}) } : rest;
  });
}

/** What restore sends (and the photo remembers). */
export function faceParamsOf(list: FaceEntry[]): Required<FaceParams> {
  const faceFidelity: Record<string, number> = {};
  list.forEach((e, i) => {
    if (e.fidelity != null) faceFidelity[String(i)] = e.fidelity;
  });
  return {
    faces: list.map((e) => ({ x: e.box.x, y: e.box.y, w: e.box.w, h: e.box.h })),
    excludeFaces: list.flatMap((e, i) => (e.excluded ? [i] : [])),
    faceFidelity,
  };
}

/** A short reason for the list ("large face: left to the natural enlargement"). */
export function shortReason(reason: string): string {
  if (reason.startsWith('large face')) return 'large: enlarged only';
  if (reason.startsWith('too small')) return 'too small: enlarged only';
  if (reason.startsWith('landmarks')) return 'unclear: enlarged only';
  return reason;
}

function faceLabel(e: FaceEntry, i: number): string {
  const what = `Face ${i + 1}${e.added ? ' (added)' : ''}`;
  return `${what}: ${e.excluded ? 'excluded' : 'restored'}`;
}

export interface OutlineProps {
  list: FaceEntry[];
  place: Placer;
  hot: number | null;
  photo: { w: number; h: number };
  onToggle(i: number): void;
  onChange(i: number, box: FaceBox): void;
  onRemove(i: number): void;
  onHot(i: number | null): void;
}

/** Numbered outlines over the picture; each a toggle button (pressed = the face is restored). */
export function FaceOutlines({ list, place, hot, photo, onToggle, onChange, onRemove, onHot }: OutlineProps) {
  const onKey = (e: KeyboardEvent, i: number) => {
    const f = list[i];
    if (!f.added) return;
    if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      e.stopPropagation();
      onRemove(i);
      return;
    }
    const step = e.shiftKey ? 8 : 1;
    const moves: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const mv = moves[e.key];
    if (mv) {
      e.preventDefault();
      e.stopPropagation();
      const b = f.box;
      if (e.altKey) {
        // Alt+arrows: resize (right/down grow, left/up shrink), keeping the top-left corner.
        const w = Math.max(4, Math.min(photo.w - b.x, b.w + mv[0]));
        const h = Math.max(4, Math.min(photo.h - b.y, b.h + mv[1]));
        onChange(i, { ...b, w, h });
      } else {
        onChange(i, { ...b, x: Math.max(0, Math.min(photo.w - b.w, b.x + mv[0])), y: Math.max(0, Math.min(photo.h - b.h, b.y + mv[1])) });
      }
    }
  };
  return (
    <div className="face-outlines" data-testid="face-outlines">
      {list.map((f, i) => (
        <button
          key={f.key}
          type="button"
          data-no-pan
          data-face={i}
          className={`face-box${f.excluded ? ' excluded' : ''}${f.added ? ' added' : ''}${hot === i ? ' hot' : ''}${f.restorable === false ? ' kept' : ''}`}
          style={place(f.box)}
          aria-pressed={!f.excluded}
          aria-label={`Restore face ${i + 1}${f.added ? ' (added; arrow keys move it, Alt+arrows resize, Delete removes)' : ''}`}
          title={`${faceLabel(f, i)} — click to ${f.excluded ? 'include' : 'exclude'} it`}
          onClick={() => onToggle(i)}
          onKeyDown={(e) => onKey(e, i)}
          onMouseEnter={() => onHot(i)}
          onMouseLeave={() => onHot(null)}
          onFocus={() => onHot(i)}
          onBlur={() => onHot(null)}
        >
          <span className="face-num" aria-hidden="true">
            {i + 1}
          </span>
        </button>
      ))}
    </div>
  );
}

export interface PanelProps {
  state: FacesState;
  /** The photo's knob (the default of every face). */
  knob: number;
  addMode: boolean;
  hot: number | null;
  onAddMode(on: boolean, byKeyboard: boolean): void;
  onToggle(i: number): void;
  onFidelity(i: number, v: number | null): void;
  onRemove(i: number): void;
  onReset(): void;
  onRetry(): void;
  onHot(i: number | null): void;
  showOutlines: boolean;
  onShowOutlines(v: boolean): void;
}

/** The face list beside the knob. */
export function FacesPanel(p: PanelProps) {
  const id = useId();
  const { state } = p;
  const n = state.list.length;
  const restoring = state.list.filter((f) => !f.excluded && f.restorable !== false).length;
  const rep = state.report;
  let status: string;
  if (state.status === 'finding') status = 'Finding faces…';
  else if (state.status === 'error') status = `Could not find faces: ${state.error ?? 'unknown error'}`;
  else if (state.status === 'ready') {
    const found = rep ? rep.faces.length : 0;
    status = `${found} found${rep ? (rep.cached ? ` (remembered; took ${fmtMs(rep.ms)})` : ` in ${fmtMs(rep.ms)}`) : ''} · ${restoring} of ${n} will be restored`;
  } else status = 'Faces are found when the method is Portrait.';
  return (
    <section className="panel faces-panel" aria-labelledby={`${id}-h`}>
      <div className="faces-head">
        <h2 id={`${id}-h`}>Faces</h2>
        <label className="check-field small">
          <input type="checkbox" checked={p.showOutlines} onChange={(e) => p.onShowOutlines(e.target.checked)} />
          <span>Outlines</span>
        </label>
      </div>
      <p className={`faces-status${state.status === 'error' ? ' error' : ''}`} role="status" data-testid="faces-status">
        {status}
      </p>
      <div className="faces-tools">
        <button
          type="button"
          className={`btn small${p.addMode ? ' on' : ''}`}
          aria-pressed={p.addMode}
          disabled={state.status !== 'ready'}
          onClick={(e) => p.onAddMode(!p.addMode, e.detail === 0)}
          title="Drag on the photo around a face the detector missed"
        >
          {p.addMode ? 'Drawing… (Esc to stop)' : 'Add face'}
        </button>
        {state.status === 'error' && (
          <button type="button" className="btn small" onClick={p.onRetry}>
            Try again
          </button>
        )}
        {state.edited && state.status === 'ready' && (
          <button type="button" className="btn small ghost" onClick={p.onReset} title="Forget the faces you added, excluded or set a knob for">
            Reset faces
          </button>
        )}
      </div>
      {p.addMode && <p className="faces-hint">Drag a box around the face on the photo. Arrow keys move a focused added face; Alt+arrows resize it.</p>}
      {n > 0 && (
        <ol className="face-list" aria-label="Faces to restore">
          {state.list.map((f, i) => {
            const v = f.fidelity ?? p.knob;
            return (
              <li key={f.key} className={`face-row${f.excluded ? ' excluded' : ''}${p.hot === i ? ' hot' : ''}`} onMouseEnter={() => p.onHot(i)} onMouseLeave={() => p.onHot(null)}>
                <label className="face-check">
                  <input type="checkbox" checked={!f.excluded} onChange={() => p.onToggle(i)} onFocus={() => p.onHot(i)} onBlur={() => p.onHot(null)} />
                  <span className="face-name">Face {i + 1}</span>
                </label>
                <span className="face-meta" title={f.reason}>
                  {f.added ? 'added by you' : f.score != null ? `score ${f.score.toFixed(2)}` : ''}
                  {f.reason && !f.excluded ? ` · ${shortReason(f.reason)}` : ''}
                </span>
                <div className="face-knob">
                  <input
                    type="range"
                    min={0}
                    max={1}
                    step={0.05}
                    value={v}
                    disabled={f.excluded}
                    aria-label={`Knob for face ${i + 1}`}
                    aria-valuetext={`${v.toFixed(2)}${f.fidelity == null ? ", the photo's knob" : ''}`}
                    onChange={(e) => p.onFidelity(i, Number(e.target.value))}
                  />
                  <output className={`face-knob-value${f.fidelity == null ? ' default' : ''}`}>{v.toFixed(2)}</output>
                  {f.fidelity != null && (
                    <button type="button" className="btn icon small" onClick={() => p.onFidelity(i, null)} aria-label={`Face ${i + 1}: use the photo's knob`} title="Use the photo's knob">
                      ↺
                    </button>
                  )}
                  {f.added && (
                    <button type="button" className="btn small ghost" onClick={() => p.onRemove(i)} aria-label={`Remove face ${i + 1}`}>
                      Remove
                    </button>
                  )}
                </div>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
