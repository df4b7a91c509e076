/** The library: toolbar (search, sort, filter, selection actions) and a virtualised thumbnail grid. */
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { LibraryListQuery } from '../../shared/contract';
import type { ImportFailure, Photo } from '../../shared/types';
import { call, errorLine, mediaUrl } from '../api';
import { basename, plural } from '../format';
import { useDebounced, useDebouncedCallback } from '../hooks/useDebounced';
import { modLabel, useShortcuts } from '../shortcuts';
import { useApp, useEvent } from '../store';

type Sort = LibraryListQuery['sort'];
type Filter = LibraryListQuery['filter'];

const MIN_CELL = 168; // smallest thumbnail box, px; cells grow to fill the row
const GAP = 12;
const CAPTION = 42;
const FIRST_PAGE = 240;

export interface GalleryProps {
  active: boolean;
  importing: boolean;
  failures: ImportFailure[];
  onDismissFailures(): void;
  onImport(folders: boolean): void;
  onOpen(photo: Photo): void;
  onRestore(photos: Photo[]): void;
}

export function Gallery(props: GalleryProps) {
  const { toast } = useApp();
  const [sort, setSort] = useState<Sort>('added');
  const [desc, setDesc] = useState(true);
  const [filter, setFilter] = useState<Filter>('all');
  const [search, setSearch] = useState('');
  const debounced = useDebounced(search, 150).trim();
  const [photos, setPhotos] = useState<Photo[]>([]);
  const [total, setTotal] = useState(0);
  const [loaded, setLoaded] = useState(false);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [anchor, setAnchor] = useState<number>(-1);
  const [focusIdx, setFocusIdx] = useState(0);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const token = useRef(0);

  const load = useCallback(async () => {
    const my = ++token.current;
    const q = { sort, desc, search: debounced, filter } as const;
    try {
      const first = await call('library.list', { ...q, offset: 0, limit: FIRST_PAGE });
      if (my !== token.current) return;
      let items = first.items;
      setTotal(first.total);
      setPhotos(items);
      setLoaded(true);
      while (items.length < first.total) {
        const page = await call('library.list', { ...q, offset: items.length, limit: 5000 });
        if (my !== token.current) return;
        if (page.items.length === 0) break;
        items = items.concat(page.items);
        setPhotos(items);
        setTotal(page.total);
      }
    } catch (e) {
      if (my === token.current) toast(`Could not load the library: ${errorLine(e)}`, 'error');
    }
  }, [sort, desc, debounced, filter, toast]);

  useEffect(() => {
    void load();
  }, [load]);

  // The debouncer calls the latest `load`: a reload always uses the query of *now*.
  const reload = useDebouncedCallback(() => void load(), 200);
  useEvent('library.changed', ({ reason }) => {
    if (reason === 'prefs') return; // per-photo knob/scale: nothing the grid shows
    // Results arrive one by one during a batch: at most one reload a second (throttle, not debounce).
    if (reason === 'result') {
      if (!reload.pending()) reload.later(1000);
      return;
    }
    reload();
  });

  // Drop selected ids that left the list.
  useEffect(() => {
    setSelected((sel) => {
      if (sel.size === 0) return sel;
      const ids = new Set(photos.map((p) => p.id));
      const next = new Set([...sel].filter((id) => ids.has(id)));
      return next.size === sel.size ? sel : next;
    });
    setFocusIdx((i) => Math.min(i, Math.max(0, photos.length - 1)));
  }, [photos]);

  const selectedPhotos = useMemo(() => photos.filter((p) => selected.has(p.id)), [photos, selected]);

  // ---- grid geometry
  const scrollRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);
  const cols = Math.max(1, Math.floor((width - GAP) / (MIN_CELL + GAP)));
  const cell = Math.max(MIN_CELL, Math.floor((width - GAP) / cols - GAP));
  const rows = Math.ceil(photos.length / cols);
  const rowH = cell + CAPTION + GAP;
  const virt = useVirtualizer({
    count: rows,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowH,
    overscan: 4,
    paddingStart: GAP,
    paddingEnd: GAP,
  });

  // Rows change height with the window width: re-measure when the cell size changes.
  useEffect(() => virt.measure(), [rowH, virt]);

  const gridRef = useRef<HTMLDivElement>(null);
  const focusItem = useCallback(
    (idx: number) => {
      if (idx < 0 || idx >= photos.length) return;
      setFocusIdx(idx);
      virt.scrollToIndex(Math.floor(idx / cols), { align: 'auto' });
      requestAnimationFrame(() => {
        const el = gridRef.current?.querySelector<HTMLElement>(`[data-idx="${idx}"]`);
        el?.focus({ preventScroll: true });
      });
    },
    [photos.length, cols, virt],
  );

  const selectRange = useCallback(
    (from: number, to: number, add: boolean) => {
      const [a, b] = from < to ? [from, to] : [to, from];
      setSelected((sel) => {
        const next = add ? new Set(sel) : new Set<number>();
        for (let i = Math.max(0, a); i <= b && i < photos.length; i++) next.add(photos[i].id);
        return next;
      });
    },
    [photos],
  );

  const onItemClick = useCallback(
    (idx: number, e: React.MouseEvent) => {
      const p = photos[idx];
      if (!p) return;
      setFocusIdx(idx);
      const mod = e.metaKey || e.ctrlKey;
      if (e.shiftKey && anchor >= 0) {
        selectRange(anchor, idx, mod);
      } else if (mod) {
        setSelected((sel) => {
          const next = new Set(sel);
          if (next.has(p.id)) next.delete(p.id);
          else next.add(p.id);
          return next;
        });
        setAnchor(idx);
      } else {
        setSelected(new Set([p.id]));
        setAnchor(idx);
      }
    },
    [photos, anchor, selectRange],
  );

  const onGridKey = (e: React.KeyboardEvent) => {
    const k = e.key;
    let next = -1;
    if (k === 'ArrowRight') next = focusIdx + 1;
    else if (k === 'ArrowLeft') next = focusIdx - 1;
    else if (k === 'ArrowDown') next = focusIdx + cols;
    else if (k === 'ArrowUp') next = focusIdx - cols;
    else if (k === 'Home') next = 0;
    else if (k === 'End') next = photos.length - 1;
    else if (k === 'PageDown') next = Math.min(photos.length - 1, focusIdx + cols * 4);
    else if (k === 'PageUp') next = Math.max(0, focusIdx - cols * 4);
    else if (k === ' ') {
      e.preventDefault();
      const p = photos[focusIdx];
      if (!p) return;
      setSelected((sel) => {
        const n = new Set(sel);
        if (n.has(p.id)) n.delete(p.id);
        else n.add(p.id);
        return n;
      });
      setAnchor(focusIdx);
      return;
    } else if (k === 'Enter') {
      e.preventDefault();
      const p = photos[focusIdx];
      if (p) props.onOpen(p);
      return;
    } else return;
    e.preventDefault();
    next = Math.max(0, Math.min(photos.length - 1, next));
    if (e.shiftKey) {
      const a = anchor >= 0 ? anchor : focusIdx;
      if (anchor < 0) setAnchor(focusIdx);
      selectRange(a, next, false);
    }
    focusItem(next);
  };

  const selectAll = () => setSelected(new Set(photos.map((p) => p.id)));
  const clearSelection = () => setSelected(new Set());

  const doRemove = async () => {
    setConfirmRemove(false);
    const ids = [...selected];
    if (!ids.length) return;
    try {
      const r = await call('library.remove', { ids });
      toast(`Removed ${plural(r.removed, 'photo')} from the library. The original files were not touched.`, 'ok');
      setSelected(new Set());
      void load();
    } catch (e) {
      toast(`Could not remove: ${errorLine(e)}`, 'error');
    }
  };

  const reveal = async () => {
    const p = selectedPhotos[0] ?? photos[focusIdx];
    if (!p) return;
    try {
      await call('library.reveal', { id: p.id });
    } catch (e) {
      toast(`Could not show the file: ${errorLine(e)}`, 'error');
    }
  };

  useShortcuts(
    {
      'mod+a': () => selectAll(),
      escape: () => (selected.size ? clearSelection() : false),
      r: () => {
        const sel = selectedPhotos.length ? selectedPhotos : photos[focusIdx] ? [photos[focusIdx]] : [];
        if (sel.length) props.onRestore(sel);
      },
      delete: () => selected.size > 0 && setConfirmRemove(true),
      backspace: () => selected.size > 0 && setConfirmRemove(true),
    },
    props.active,
  );

  const empty = loaded && total === 0 && !debounced && filter === 'all';
  const noMatch = loaded && photos.length === 0 && !empty;
  const selCount = selected.size;

  return (
    <section className="gallery" aria-label="Library">
      <div className="toolbar" role="toolbar" aria-label="Library tools">
        <div className="toolbar-group">
          <button className="btn primary" onClick={() => props.onImport(false)} disabled={props.importing} title={`${modLabel}+O`}>
            {props.importing ? 'Importing…' : 'Import photos…'}
          </button>
          <button className="btn" onClick={() => props.onImport(true)} disabled={props.importing} title={`${modLabel}+Shift+O`}>
            Import folder…
          </button>
        </div>
        <div className="toolbar-group grow">
          <label className="search">
            <span className="visually-hidden">Search by name</span>
            <input
              type="search"
              placeholder="Search by name"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              disabled={empty}
            />
          </label>
          <label className="field-inline">
            <span>Sort</span>
            <select value={sort} onChange={(e) => setSort(e.target.value as Sort)} disabled={empty}>
              <option value="added">Date added</option>
              <option value="name">Name</option>
              <option value="processed">Last processed</option>
            </select>
          </label>
          <button
            className="btn icon"
            onClick={() => setDesc((d) => !d)}
            aria-label={desc ? 'Descending order (click for ascending)' : 'Ascending order (click for descending)'}
            title={desc ? 'Descending' : 'Ascending'}
            disabled={empty}
          >
            {desc ? '↓' : '↑'}
          </button>
          <label className="field-inline">
            <span>Show</span>
            <select value={filter} onChange={(e) => setFilter(e.target.value as Filter)} disabled={empty}>
              <option value="all">All photos</option>
              <option value="processed">Restored</option>
              <option value="unprocessed">Not restored yet</option>
              <option value="missing">Missing files</option>
            </select>
          </label>
        </div>
      </div>

      <div className="selection-bar" aria-live="polite" hidden={empty}>
        <span className="count">
          {loaded ? (
            selCount ? (
              <strong>{plural(selCount, 'photo')} selected</strong>
            ) : (
              <>{total === photos.length ? plural(total, 'photo') : `${photos.length.toLocaleString()} of ${plural(total, 'photo')}`}</>
            )
          ) : (
            'Loading…'
          )}
        </span>
        <div className="toolbar-group">
          <button className="btn ghost" onClick={selectAll} disabled={!photos.length} title={`${modLabel}+A`}>
            Select all
          </button>
          <button className="btn ghost" onClick={clearSelection} disabled={!selCount}>
            Clear selection
          </button>
          <button className="btn" onClick={reveal} disabled={!selCount}>
            Show in folder
          </button>
          <button className="btn" onClick={() => setConfirmRemove(true)} disabled={!selCount}>
            Remove from library
          </button>
          <button className="btn primary" onClick={() => props.onRestore(selectedPhotos)} disabled={!selCount} title="R">
            {selCount > 1 ? `Restore ${selCount} photos…` : 'Restore…'}
          </button>
        </div>
      </div>

      {props.failures.length > 0 && (
        <div className="import-failures" role="region" aria-label="Import problems">
          <div className="import-failures-head">
            <strong>{plural(props.failures.length, 'file')} could not be imported</strong>
            <button className="btn ghost small" onClick={props.onDismissFailures}>
              Dismiss
            </button>
          </div>
          <ul>
            {props.failures.slice(0, 200).map((f) => (
              <li key={f.path}>
                <span className="fail-name" title={f.path}>
                  {basename(f.path)}
                </span>
                <span className="fail-reason">{f.error.startsWith(`${f.path}: `) ? f.error.slice(f.path.length + 2) : f.error}</span>
              </li>
            ))}
            {props.failures.length > 200 && <li>…and {props.failures.length - 200} more</li>}
          </ul>
        </div>
      )}

      <div className="grid-scroll" ref={scrollRef}>
        {empty && (
          <div className="empty-state">
            <div className="empty-art" aria-hidden="true">
              <span />
            </div>
            <h2>Bring your old photographs in</h2>
            <p>
              Import photos or a whole folder, or drag them onto this window. Daguerre keeps your originals exactly as
              they are and saves every restored version separately.
            </p>
            <div className="empty-actions">
              <button className="btn primary large" onClick={() => props.onImport(false)}>
                Import photos…
              </button>
              <button className="btn large" onClick={() => props.onImport(true)}>
                Import a folder…
              </button>
            </div>
            <p className="hint">
              Tip: press <kbd>{modLabel}</kbd>+<kbd>O</kbd> to import, <kbd>?</kbd> for all shortcuts.
            </p>
          </div>
        )}
        {noMatch && (
          <div className="empty-state small">
            <h2>No photos match</h2>
            <p>{debounced ? `Nothing is named like “${debounced}”.` : 'No photo fits this filter.'}</p>
            <button
              className="btn"
              onClick={() => {
                setSearch('');
                setFilter('all');
              }}
            >
              Show all photos
            </button>
          </div>
        )}
        {photos.length > 0 && (
          <div
            ref={gridRef}
            className="grid"
            role="listbox"
            aria-label="Photos"
            aria-multiselectable="true"
            onKeyDown={onGridKey}
            style={{ height: virt.getTotalSize() }}
          >
            {virt.getVirtualItems().map((row) => {
              const start = row.index * cols;
              const items = photos.slice(start, start + cols);
              return (
                <div
                  key={row.key}
                  className="grid-row"
                  role="presentation"
                  style={{ transform: `translateY(${row.start}px)`, height: rowH - GAP, gap: GAP, paddingLeft: GAP }}
                >
                  {items.map((p, j) => (
                    <Thumb
                      key={p.id}
                      photo={p}
                      idx={start + j}
                      total={photos.length}
                      selected={selected.has(p.id)}
                      focused={focusIdx === start + j}
                      cell={cell}
                      onClick={onItemClick}
                      onOpen={props.onOpen}
                    />
                  ))}
                </div>
              );
            })}
          </div>
        )}
      </div>

      {confirmRemove && (
        <ConfirmRemove count={selCount} onCancel={() => setConfirmRemove(false)} onConfirm={doRemove} />
      )}
    </section>
  );
}

const Thumb = memo(function Thumb(props: {
  photo: Photo;
  idx: number;
  total: number;
  selected: boolean;
  focused: boolean;
  cell: number;
  onClick(idx: number, e: React.MouseEvent): void;
  onOpen(p: Photo): void;
}) {
  const { photo: p } = props;
  const [failed, setFailed] = useState(false);
  const status = p.missing ? 'file missing' : p.resultCount ? `${p.resultCount} restored` : 'not restored';
  return (
    <div
      className={`thumb${props.selected ? ' selected' : ''}${p.missing ? ' missing' : ''}`}
      role="option"
      aria-selected={props.selected}
      aria-setsize={props.total}
      aria-posinset={props.idx + 1}
      aria-label={`${p.name}, ${p.width}×${p.height}, ${status}`}
      tabIndex={props.focused ? 0 : -1}
      data-idx={props.idx}
      data-photo-id={p.id}
      onClick={(e) => props.onClick(props.idx, e)}
      onDoubleClick={() => props.onOpen(p)}
      style={{ width: props.cell }}
    >
      <div className="thumb-img" style={{ width: props.cell, height: props.cell }}>
        {failed ? (
          <span className="thumb-fallback" aria-hidden="true">
            {p.format?.toUpperCase() || '?'}
          </span>
        ) : (
          <img
            src={mediaUrl('thumb', p.id)}
            alt=""
            loading="lazy"
            decoding="async"
            draggable={false}
            onError={() => setFailed(true)}
          />
        )}
        {p.resultCount > 0 && (
          <span className="badge done" aria-hidden="true" title={`${p.resultCount} restored`}>
            ✓{p.resultCount > 1 ? ` ${p.resultCount}` : ''}
          </span>
        )}
        {p.missing && (
          <span className="badge warn" aria-hidden="true">
            Missing
          </span>
        )}
        <span className="check" aria-hidden="true" />
      </div>
      <div className="thumb-caption" aria-hidden="true">
        <span className="thumb-name" title={p.name}>
          {p.name}
        </span>
        <span className="thumb-meta">
          {p.width}×{p.height} · {p.format.toUpperCase()}
          {p.resultCount > 0 ? ` · ${p.resultCount} restored` : ''}
        </span>
      </div>
    </div>
  );
});

function ConfirmRemove(props: { count: number; onCancel(): void; onConfirm(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} className="modal small" onClose={props.onCancel} aria-labelledby="rm-title">
      <h2 id="rm-title">Remove {plural(props.count, 'photo')} from the library?</h2>
      <p>
        They leave this library only: the original files on your disk are <strong>not</strong> deleted or changed.
      </p>
      <div className="modal-actions">
        <button className="btn" onClick={props.onCancel} autoFocus>
          Cancel
        </button>
        <button className="btn danger" onClick={props.onConfirm}>
          Remove from library
        </button>
      </div>
    </dialog>
  );
}
