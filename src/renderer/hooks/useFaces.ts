/**
 * The faces of method portrait in the photo view: found by faces.detect (again at each new scale,
 * which then only updates which faces portrait keeps), edited by the user (exclude, move, a knob
 * per face, add, remove, reset), remembered with the photo (library.setPrefs, debounced) and sent
 * with the restore (`params`).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { FaceBox, FaceParams, Photo, Scale } from '../../shared/types';
import { call, errorLine } from '../api';
import { entriesFrom, faceKey, faceParamsOf, noFaces, withReport, type FaceEntry, type FacesState } from '../components/Faces';
import type { Rect } from '../components/Viewer';
import { useApp } from '../store';
import { useDebouncedCallback } from './useDebounced';

export interface FacesOptions {
  photoId: number;
  /** The photo once loaded: its size bounds the boxes, its prefs hold the list the user left. */
  photo: Photo | null;
  /** Method portrait is chosen: faces are found, outlined and sent only then. */
  portrait: boolean;
  /** The chosen scale (which faces portrait restores depends on it). */
  scale: number;
  /** A prefs save answered with the photo. */
  onPhoto(p: Photo): void;
  /** The first detection's first face that portrait restores (else the first included one). */
  onFirstFace(box: FaceBox): void;
  /** The centre of the view in photo px, where a box added from the keyboard goes. */
  viewCentre(): { cx: number; cy: number } | undefined;
}

export interface Faces {
  state: FacesState;
  /** What the restore sends: only with portrait and a finished detection, else null. */
  params: Required<FaceParams> | null;
  /** Drawing a box for a face the detector missed. */
  addMode: boolean;
  /** The face under the pointer or focus (outline and list row light up together). */
  hot: number | null;
  showOutlines: boolean;
  setHot(i: number | null): void;
  setShowOutlines(v: boolean): void;
  stopAdding(): void;
  /** Start or stop drawing; from the keyboard, a box goes straight into the middle of the view, focused. */
  startAdd(on: boolean, byKeyboard: boolean): void;
  add(r: Rect, focus?: boolean): void;
  toggle(i: number): void;
  move(i: number, box: FaceBox): void;
  /** The knob of face i; null = the photo's knob. */
  knob(i: number, v: number | null): void;
  remove(i: number): void;
  /** Back to the detection as found (forgets the remembered list). */
  reset(): void;
  /** Detect again after an error. */
  retry(): void;
}

export function useFaces({ photoId, photo, portrait, scale, ...opts }: FacesOptions): Faces {
  const { toast } = useApp();
  const [faces, setFaces] = useState<FacesState>(noFaces);
  const [addMode, setAddMode] = useState(false);
  const [hot, setHot] = useState<number | null>(null);
  const [showOutlines, setShowOutlines] = useState(true);
  const facesFor = useRef(0);
  const facesRef = useRef(faces);
  facesRef.current = faces;
  const optsRef = useRef(opts);
  optsRef.current = opts;
  const W = photo?.width ?? 1;
  const H = photo?.height ?? 1;

  // Another photo: nothing found yet, and answers still on their way are dropped.
  useEffect(() => {
    facesFor.current++;
    setFaces(noFaces);
    setAddMode(false);
  }, [photoId]);

  const findFaces = useCallback(
    async (sc: number) => {
      const ticket = ++facesFor.current;
      setFaces((f) => ({ ...f, status: f.status === 'ready' ? 'ready' : 'finding', error: undefined }));
      try {
        const report = await call('faces.detect', { photoId, scale: sc as Scale });
        if (ticket !== facesFor.current) return;
        if (facesRef.current.status === 'ready') {
          setFaces((f) => ({ ...f, report, list: withReport(f.list, report) }));
          return;
        }
        const list = entriesFrom(report, photo?.prefs ?? null);
        setFaces({ status: 'ready', report, list, edited: !!photo?.prefs?.faces });
        // The loupe goes to the first face portrait restores: a preview then shows what it does to faces.
        const first = list.find((e) => !e.excluded && e.restorable !== false) ?? list.find((e) => !e.excluded);
        if (first) optsRef.current.onFirstFace(first.box);
      } catch (e) {
        if (ticket !== facesFor.current) return;
        setFaces((f) => (f.status === 'ready' ? f : { ...noFaces, status: 'error', error: errorLine(e) }));
      }
    },
    [photoId, photo?.prefs],
  );
  const photoLoaded = !!photo && photo.id === photoId;
  useEffect(() => {
    if (!portrait || !photoLoaded) return;
    // First time: find them; later, another scale: the cached answer says which faces portrait keeps.
    if (faces.status === 'idle' || faces.status === 'ready') void findFaces(scale);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [portrait, photoLoaded, scale]);
  useEffect(() => {
    if (!portrait) setAddMode(false);
  }, [portrait]);

  // The photo id goes as an argument: the save is for the photo edited, whatever happens in the wait.
  const rememberFaces = useDebouncedCallback((id: number, list: FaceEntry[] | null) => {
    const prefs = list ? faceParamsOf(list) : { faces: null, excludeFaces: null, faceFidelity: null };
    call('library.setPrefs', { id, prefs })
      .then((p) => optsRef.current.onPhoto(p))
      .catch((e) => toast(`Could not remember the faces: ${errorLine(e)}`, 'error'));
  }, 400);
  const editFaces = (fn: (list: FaceEntry[]) => FaceEntry[]) => {
    const list = fn(faces.list);
    rememberFaces(photoId, list);
    setFaces({ ...faces, list, edited: true });
  };
  const toggle = (i: number) => editFaces((l) => l.map((e, j) => (j === i ? { ...e, excluded: !e.excluded } : e)));
  const move = (i: number, box: FaceBox) => editFaces((l) => l.map((e, j) => (j === i ? { ...e, box } : e)));
  const knob = (i: number, v: number | null) => editFaces((l) => l.map((e, j) => (j === i ? { ...e, fidelity: v } : e)));
  const remove = (i: number) => {
    editFaces((l) => l.filter((_, j) => j !== i));
    setHot(null);
    toast(`Face ${i + 1} removed`);
  };
  const add = (r: Rect, focus = false) => {
    const x = Math.max(0, Math.min(W - 4, r.x));
    const y = Math.max(0, Math.min(H - 4, r.y));
    const box = { x, y, w: Math.max(4, Math.min(W - x, r.w)), h: Math.max(4, Math.min(H - y, r.h)) };
    editFaces((l) => [...l, { key: faceKey(), box, score: null, added: true, excluded: false, fidelity: null }]);
    setAddMode(false);
    setShowOutlines(true);
    toast(`Face ${faces.list.length + 1} added`, 'ok');
    // Once the outline is drawn (not a debounce: one focus, after the next paint).
    if (focus) setTimeout(() => document.querySelector<HTMLElement>(`.face-box[data-face="${faces.list.length}"]`)?.focus(), 50);
  };
  const reset = () => {
    if (!faces.report) return;
    rememberFaces(photoId, null);
    setFaces((f) => ({ ...f, list: entriesFrom(f.report!, null), edited: false }));
  };
  const startAdd = (on: boolean, byKeyboard: boolean) => {
    if (on && byKeyboard) {
      // No pointer: a box in the middle of the view, focused, to move with the arrow keys.
      const v = optsRef.current.viewCentre();
      const s = Math.max(8, Math.round(Math.min(W, H) / 8));
      add({ x: Math.round((v?.cx ?? W / 2) - s / 2), y: Math.round((v?.cy ?? H / 2) - s / 2), w: s, h: s }, true);
      return;
    }
    setAddMode(on);
  };
  const retry = () => {
    setFaces(noFaces);
    void findFaces(scale);
  };

  return {
    state: faces,
    params: portrait && faces.status === 'ready' ? faceParamsOf(faces.list) : null,
    addMode,
    hot,
    showOutlines,
    setHot,
    setShowOutlines,
    stopAdding: () => setAddMode(false),
    startAdd,
    add,
    toggle,
    move,
    knob,
    remove,
    reset,
    retry,
  };
}
