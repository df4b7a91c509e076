/**
 * Before/after viewer. Everything is placed in *input pixel* coordinates of the photo, so an original,
 * a full result and a preview of a region line up whatever their sizes. Zoom is in output pixels of
 * the main (right, "A") side: 100 % = one result pixel per screen pixel, up to 800 %. Both sides share
 * zoom and pan (locked) in every mode: slider, side by side, flick.
 */
import { useCallback, useEffect, useImperativeHandle, useLayoutEffect, useRef, useState, type CSSProperties, type ReactNode, type Ref } from 'react';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}
export interface Layer extends Rect {
  src: string;
  /** Shown dimmed (context around a preview region). */
  dim?: boolean;
  key: string;
}
export interface Side {
  label: string;
  layers: Layer[];
}
export type ViewMode = 'slider' | 'side' | 'flick';

export interface ViewerHandle {
  zoomIn(): void;
  zoomOut(): void;
  fit(): void;
  actual(): void;
  flick(): void;
  /** The photo point (input px) at the middle of the view, and how many input px the view spans. */
  view(): { cx: number; cy: number; w: number; h: number };
}

/** Places a rectangle given in input px over the picture (absolute, by transform). */
export type Placer = (r: Rect) => CSSProperties;

export interface ViewerProps {
  /** The part of the photo (input px) to fit on open: the A result's region, or the whole photo. */
  frame: Rect;
  /** Output pixels per input pixel on the A side. */
  scale: number;
  left: Side | null;
  right: Side | null;
  mode: ViewMode;
  loupe: Rect | null;
  onLoupe?(r: Rect): void;
  placeholder?: string;
  onZoomChange?(z: number): void;
  /**
   * Drawn over the picture, in the pane that shows A (the right one side by side), with a placer for
   * input-px rectangles. Elements marked `data-no-pan` take their own pointer events.
   */
  overlay?(place: Placer): ReactNode;
  /** When set, dragging on the picture draws a rectangle (input px) instead of panning. */
  onDraw?(r: Rect): void;
  ref?: Ref<ViewerHandle>;
}

const ZMAX = 8;

interface View {
  z: number;
  cx: number;
  cy: number;
  fitted: boolean;
}

export function Viewer(props: ViewerProps) {
  const { frame, scale, mode } = props;
  const boxRef = useRef<HTMLDivElement>(null);
  const [box, setBox] = useState({ w: 0, h: 0 });
  const [view, setView] = useState<View>({ z: 1, cx: frame.x + frame.w / 2, cy: frame.y + frame.h / 2, fitted: true });
  const [divider, setDivider] = useState(0.5);
  const [flickLeft, setFlickLeft] = useState(false);

  useLayoutEffect(() => {
    const el = boxRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setBox({ w: el.clientWidth, h: el.clientHeight }));
    ro.observe(el);
    setBox({ w: el.clientWidth, h: el.clientHeight });
    return () => ro.disconnect();
  }, []);

  const split = mode === 'side' && !!props.left;
  const paneW = split ? Math.max(1, (box.w - 2) / 2) : box.w;
  const paneH = box.h;
  const fitZ = paneW > 0 && paneH > 0 ? Math.min(paneW / (frame.w * scale), paneH / (frame.h * scale)) * 0.96 : 1;
  const zMin = Math.min(fitZ, 1);

  // Refit when the frame, scale or pane size change while fitted; and when a new frame arrives.
  const frameKey = `${frame.x},${frame.y},${frame.w},${frame.h},${scale}`;
  const lastFrame = useRef(frameKey);
  useEffect(() => {
    setView((v) => {
      if (lastFrame.current !== frameKey || v.fitted) {
        lastFrame.current = frameKey;
        return { z: fitZ, cx: frame.x + frame.w / 2, cy: frame.y + frame.h / 2, fitted: true };
      }
      return { ...v, z: Math.max(zMin, Math.min(ZMAX, v.z)) };
    });
  }, [frameKey, fitZ, zMin, frame.x, frame.y, frame.w, frame.h]);

  useEffect(() => props.onZoomChange?.(view.z), [view.z]);

  const k = view.z * scale; // screen px per input px
  const clampCenter = useCallback(
    (cx: number, cy: number) => ({
      cx: Math.max(frame.x, Math.min(frame.x + frame.w, cx)),
      cy: Math.max(frame.y, Math.min(frame.y + frame.h, cy)),
    }),
    [frame.x, frame.y, frame.w, frame.h],
  );

  const zoomAt = useCallback(
    (factor: number | 'fit' | 'actual', sx?: number, sy?: number) => {
      setView((v) => {
        if (factor === 'fit') return { z: fitZ, cx: frame.x + frame.w / 2, cy: frame.y + frame.h / 2, fitted: true };
        const z2 = factor === 'actual' ? 1 : Math.max(zMin, Math.min(ZMAX, v.z * factor));
        const k1 = v.z * scale;
        const k2 = z2 * scale;
        const ox = (sx ?? paneW / 2) - paneW / 2;
        const oy = (sy ?? paneH / 2) - paneH / 2;
        const px = v.cx + ox / k1;
        const py = v.cy + oy / k1;
        const c = clampCenter(px - ox / k2, py - oy / k2);
        return { z: z2, ...c, fitted: Math.abs(z2 - fitZ) < 1e-6 };
      });
    },
    [fitZ, zMin, scale, paneW, paneH, clampCenter, frame.x, frame.y, frame.w, frame.h],
  );

  useImperativeHandle(
    props.ref,
    () => ({
      zoomIn: () => zoomAt(1.25),
      zoomOut: () => zoomAt(1 / 1.25),
      fit: () => zoomAt('fit'),
      actual: () => zoomAt('actual'),
      flick: () => setFlickLeft((f) => !f),
      view: () => ({ cx: view.cx, cy: view.cy, w: paneW / (view.z * scale), h: paneH / (view.z * scale) }),
    }),
    [zoomAt, view.cx, view.cy, view.z, scale, paneW, paneH],
  );

  // Wheel zoom (non-passive so the page does not scroll).
  useEffect(() => {
    const el = boxRef.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = el.getBoundingClientRect();
      let sx = e.clientX - r.left;
      if (split && sx > paneW) sx -= paneW + 2;
      zoomAt(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)), sx, e.clientY - r.top);
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [zoomAt, split, paneW]);

  // Pointer: divider drag, loupe drag, or pan. Pointer events cover mouse, pen and touch.
  const drag = useRef<{ kind: 'pan' | 'divider' | 'loupe' | 'draw'; x: number; y: number; cx: number; cy: number; lx: number; ly: number } | null>(null);
  const [draft, setDraft] = useState<Rect | null>(null);
  // Two fingers on the picture: pinch to zoom about their midpoint.
  const touches = useRef(new Map<number, { x: number; y: number }>());
  const pinch = useRef<{ dist: number } | null>(null);
  const onPointerDown = (e: React.PointerEvent) => {
    if (e.button !== 0) return;
    if (e.pointerType === 'touch') {
      touches.current.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (touches.current.size === 2) {
        const [a, b] = [...touches.current.values()];
        pinch.current = { dist: Math.hypot(a.x - b.x, a.y - b.y) };
        drag.current = null;
        return;
      }
    }
    const t = e.target as HTMLElement;
    if (t.closest('[data-no-pan]')) return; // overlay controls (face outlines) handle their own clicks
    const kind = t.closest('[data-divider]') ? 'divider' : t.closest('[data-loupe]') ? 'loupe' : props.onDraw ? 'draw' : 'pan';
    drag.current = {
      kind,
      x: e.clientX,
      y: e.clientY,
      cx: view.cx,
      cy: view.cy,
      lx: props.loupe?.x ?? 0,
      ly: props.loupe?.y ?? 0,
    };
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    if (kind === 'divider') {
      (t.closest('[data-divider]')?.querySelector('[role="slider"]') as HTMLElement | null)?.focus();
      moveDivider(e.clientX);
    }
    if (kind === 'draw') setDraft(null);
  };
  /** Screen point → photo point (input px); both panes show the same place side by side. */
  const toInput = (clientX: number, clientY: number) => {
    const r = boxRef.current!.getBoundingClientRect();
    let sx = clientX - r.left;
    if (split && sx > paneW) sx -= paneW + 2;
    return { x: view.cx + (sx - paneW / 2) / k, y: view.cy + (clientY - r.top - paneH / 2) / k };
  };
  const draftRect = (d: { x: number; y: number }, clientX: number, clientY: number): Rect => {
    const a = toInput(d.x, d.y);
    const b = toInput(clientX, clientY);
    const x0 = Math.min(a.x, b.x);
    const y0 = Math.min(a.y, b.y);
    return { x: Math.round(x0), y: Math.round(y0), w: Math.round(Math.max(a.x, b.x) - x0), h: Math.round(Math.max(a.y, b.y) - y0) };
  };
  const moveDivider = (clientX: number) => {
    const r = boxRef.current?.getBoundingClientRect();
    if (!r || r.width <= 0) return;
    setDivider(Math.max(0, Math.min(1, (clientX - r.left) / r.width)));
  };
  const onPointerMove = (e: React.PointerEvent) => {
    if (e.pointerType === 'touch' && touches.current.has(e.pointerId)) {
      touches.current.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pinch.current && touches.current.size === 2) {
        const [a, b] = [...touches.current.values()];
        const dist = Math.hypot(a.x - b.x, a.y - b.y);
        const r = boxRef.current!.getBoundingClientRect();
        if (pinch.current.dist > 0 && dist > 0) zoomAt(dist / pinch.current.dist, (a.x + b.x) / 2 - r.left, (a.y + b.y) / 2 - r.top);
        pinch.current = { dist };
        return;
      }
    }
    const d = drag.current;
    if (!d) return;
    if (d.kind === 'divider') return moveDivider(e.clientX);
    if (d.kind === 'draw') return setDraft(draftRect(d, e.clientX, e.clientY));
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    if (d.kind === 'loupe' && props.loupe && props.onLoupe) {
      props.onLoupe({ ...props.loupe, x: Math.round(d.lx + dx / k), y: Math.round(d.ly + dy / k) });
      return;
    }
    setView((v) => ({ ...v, ...clampCenter(d.cx - dx / k, d.cy - dy / k), fitted: false }));
  };
  const onPointerUp = (e: React.PointerEvent) => {
    touches.current.delete(e.pointerId);
    if (touches.current.size < 2) pinch.current = null;
    const d = drag.current;
    if (d?.kind === 'draw' && e.type === 'pointerup') {
      const r = draftRect(d, e.clientX, e.clientY);
      if (r.w >= 4 && r.h >= 4) props.onDraw?.(r);
    }
    if (d?.kind === 'draw') setDraft(null);
    drag.current = null;
    (e.currentTarget as HTMLElement).releasePointerCapture?.(e.pointerId);
  };

  const onDividerKey = (e: React.KeyboardEvent) => {
    const step = e.shiftKey ? 0.1 : 0.02;
    let d: number | null = null;
    if (e.key === 'ArrowLeft' || e.key === 'ArrowDown') d = divider - step;
    else if (e.key === 'ArrowRight' || e.key === 'ArrowUp') d = divider + step;
    else if (e.key === 'Home') d = 0;
    else if (e.key === 'End') d = 1;
    else if (e.key === 'PageDown') d = divider - 0.1;
    else if (e.key === 'PageUp') d = divider + 0.1;
    if (d == null) return;
    e.preventDefault();
    e.stopPropagation();
    setDivider(Math.max(0, Math.min(1, d)));
  };

  const onLoupeKey = (e: React.KeyboardEvent) => {
    if (!props.loupe || !props.onLoupe) return;
    const step = e.shiftKey ? 32 : 4;
    const m: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const mv = m[e.key];
    if (!mv) return;
    e.preventDefault();
    e.stopPropagation();
    props.onLoupe({ ...props.loupe, x: props.loupe.x + mv[0], y: props.loupe.y + mv[1] });
  };

  const pixelated = view.z > 1.001;
  const place = (r: Rect, pw: number) => ({
    left: pw / 2 + (r.x - view.cx) * k,
    top: paneH / 2 + (r.y - view.cy) * k,
    width: r.w * k,
    height: r.h * k,
  });
  // Placed by transform: zooming and panning move pixels, not layout (no layout shifts, cheaper).
  const pos = (r: Rect, pw: number) => {
    const p = place(r, pw);
    return { left: 0, top: 0, width: p.width, height: p.height, transform: `translate(${p.left}px, ${p.top}px)` };
  };
  const renderLayers = (side: Side | null, pw: number) =>
    side?.layers.map((l) => (
      <img
        key={l.key}
        src={l.src}
        alt=""
        draggable={false}
        className={`layer${l.dim ? ' dim' : ''}${pixelated ? ' pixelated' : ''}`}
        style={pos(l, pw)}
      />
    ));
  const renderLoupe = (pw: number) => {
    if (!props.loupe) return null;
    const lp = place(props.loupe, pw);
    // Keep the handle on screen: inside the square when the space above it is off the pane.
    const inside = lp.top < 28;
    return (
      <div className="loupe" style={pos(props.loupe, pw)}>
        <span
          className={`loupe-handle${inside ? ' inside' : ''}`}
          data-loupe
          tabIndex={0}
          role="button"
          aria-label={`Loupe: ${props.loupe.w}×${props.loupe.h} px at ${props.loupe.x}, ${props.loupe.y}. Drag or use arrow keys to move it; press P to preview.`}
          onKeyDown={onLoupeKey}
        >
          Preview area ✥
        </span>
      </div>
    );
  };

  const renderOverlay = (pw: number) => {
    if (!props.overlay && !draft) return null;
    const placer: Placer = (r) => pos(r, pw);
    return (
      <div className="overlay-layer">
        {props.overlay?.(placer)}
        {draft && <div className="draw-draft" style={placer(draft)} aria-hidden="true" />}
      </div>
    );
  };

  const D = Math.round(divider * paneW);
  const showLeftOnly = mode === 'flick' && flickLeft && props.left;
  const flickSide = mode === 'flick' ? (showLeftOnly ? props.left : props.right ?? props.left) : null;

  return (
    <div
      className={`viewer mode-${mode}${props.onDraw ? ' drawing' : ''}`}
      ref={boxRef}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={onPointerUp}
      data-zoom={view.z.toFixed(4)}
    >
      {split ? (
        <>
          <div className="pane" style={{ width: paneW }}>
            {renderLayers(props.left, paneW)}
            {renderLoupe(paneW)}
            <span className="side-label left">{props.left?.label}</span>
          </div>
          <div className="pane-gap" aria-hidden="true" />
          <div className="pane" style={{ width: paneW }}>
            {renderLayers(props.right, paneW)}
            {renderOverlay(paneW)}
            <span className="side-label right">{props.right?.label}</span>
          </div>
        </>
      ) : mode === 'flick' ? (
        <div className="pane" style={{ width: paneW }}>
          {renderLayers(flickSide ?? null, paneW)}
          {renderOverlay(paneW)}
          {renderLoupe(paneW)}
          <span className="side-label flick" aria-live="polite">
            {flickSide?.label}
          </span>
        </div>
      ) : (
        <div className="pane" style={{ width: paneW }}>
          {renderLayers(props.left, paneW)}
          {props.right && (
            <div
              className="after-clip"
              style={props.left ? { clipPath: `inset(0 0 0 ${D}px)` } : undefined}
              data-testid="after"
            >
              {renderLayers(props.right, paneW)}
            </div>
          )}
          {renderOverlay(paneW)}
          {renderLoupe(paneW)}
          {props.left && <span className="side-label left">{props.left.label}</span>}
          {props.right && <span className="side-label right">{props.right.label}</span>}
          {props.left && props.right && (
            <div className="divider" data-divider style={{ left: D }}>
              <div
                className="divider-handle"
                role="slider"
                tabIndex={0}
                aria-label="Before and after divider"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.round(divider * 100)}
                aria-valuetext={`${Math.round(divider * 100)} % before`}
                aria-orientation="horizontal"
                onKeyDown={onDividerKey}
              >
                <span aria-hidden="true">‹ ›</span>
              </div>
            </div>
          )}
        </div>
      )}
      {props.placeholder && <div className="viewer-placeholder">{props.placeholder}</div>}
    </div>
  );
}
