import { useCallback, useEffect, useRef, useState } from 'react';
import type { ImportFailure, Photo } from '../shared/types';
import { api, call, errorLine } from './api';
import { BatchDialog } from './components/BatchDialog';
import { Gallery } from './components/Gallery';
import { HelpDialog } from './components/HelpDialog';
import { PhotoView } from './components/PhotoView';
import { QueuePanel } from './components/QueuePanel';
import { SettingsDialog } from './components/SettingsDialog';
import { plural } from './format';
import { modLabel, useShortcuts } from './shortcuts';
import { AppProvider, useApp, useJobs } from './store';

export function App() {
  return (
    <AppProvider>
      <Shell />
    </AppProvider>
  );
}

/** The queue button with its badge: the only part of the shell that follows job progress. */
function QueueButton({ open, onToggle }: { open: boolean; onToggle(): void }) {
  const { activeJobs } = useJobs();
  return (
    <button
      className={`btn ghost queue-btn${open ? ' on' : ''}`}
      onClick={onToggle}
      aria-expanded={open}
      aria-label={activeJobs ? `Queue, ${activeJobs} active` : 'Queue'}
      title="Q"
    >
      Queue
      <span className={`count-badge${activeJobs ? '' : ' zero'}`} data-testid="active-badge" aria-hidden="true">
        {activeJobs}
      </span>
    </button>
  );
}

function Shell() {
  const { queueOpen, setQueueOpen, toast, toasts, dismissToast, loadError } = useApp();
  const [open, setOpen] = useState<Photo | null>(null);
  const [importing, setImporting] = useState(false);
  const [failures, setFailures] = useState<ImportFailure[]>([]);
  const [dialog, setDialog] = useState<'settings' | 'help' | null>(null);
  const [batch, setBatch] = useState<Photo[] | null>(null);
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);

  const importPaths = useCallback(
    async (paths: string[]) => {
      if (!paths.length) return;
      setImporting(true);
      try {
        const r = await call('library.import', { paths });
        const parts: string[] = [];
        parts.push(r.imported.length ? `Imported ${plural(r.imported.length, 'photo')}` : 'Nothing new imported');
        if (r.duplicates.length) parts.push(`${plural(r.duplicates.length, 'duplicate')} skipped`);
        if (r.failed.length) parts.push(`${plural(r.failed.length, 'file')} could not be read`);
        toast(parts.join(', '), r.failed.length ? 'error' : 'ok');
        setFailures(r.failed);
      } catch (e) {
        toast(`Import failed: ${errorLine(e)}`, 'error');
      } finally {
        setImporting(false);
      }
    },
    [toast],
  );

  const importDialog = useCallback(
    async (folders: boolean) => {
      try {
        const { paths } = await call('dialog.openPhotos', { folders });
        await importPaths(paths);
      } catch (e) {
        toast(`Could not open the file chooser: ${errorLine(e)}`, 'error');
      }
    },
    [importPaths, toast],
  );

  // Drag and drop of files or folders anywhere on the window; paste of copied files.
  useEffect(() => {
    const hasFiles = (e: DragEvent) => !!e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files');
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      dragDepth.current++;
      setDragging(true);
    };
    const over = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const leave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      dragDepth.current = Math.max(0, dragDepth.current - 1);
      if (dragDepth.current === 0) setDragging(false);
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      dragDepth.current = 0;
      setDragging(false);
      const files = e.dataTransfer ? Array.from(e.dataTransfer.files) : [];
      const paths = api().pathsForFiles(files);
      if (files.length && !paths.length) toast('These items have no file on disk to import', 'error');
      void importPaths(paths);
    };
    const paste = (e: ClipboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA')) return;
      const files = e.clipboardData ? Array.from(e.clipboardData.files) : [];
      if (!files.length) return;
      e.preventDefault();
      const paths = api().pathsForFiles(files);
      if (!paths.length) toast('Pasted images have no file on disk: save them first, then import', 'error');
      void importPaths(paths);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    window.addEventListener('paste', paste);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
      window.removeEventListener('paste', paste);
    };
  }, [importPaths, toast]);

  useShortcuts({
    'mod+o': () => void importDialog(false),
    'mod+shift+o': () => void importDialog(true),
    'mod+,': () => setDialog('settings'),
    '?': () => setDialog('help'),
    q: () => setQueueOpen((v) => !v),
    escape: () => (queueOpen ? setQueueOpen(false) : false),
  });

  const back = useCallback(() => setOpen(null), []);

  if (loadError) {
    return (
      <div className="fatal" role="alert">
        <h1>Daguerre could not start</h1>
        <p>{loadError}</p>
      </div>
    );
  }

  return (
    <div className={`app${queueOpen ? ' queue-open' : ''}`}>
      <header className="topbar">
        <a className="brand" href="#" onClick={(e) => { e.preventDefault(); setOpen(null); }} aria-label="Daguerre, back to the library">
          <span className="logo" aria-hidden="true" />
          Daguerre
        </a>
        <nav className="crumbs" aria-label="Where you are">
          <span aria-current={open ? undefined : 'page'}>Library</span>
          {open && (
            <>
              <span aria-hidden="true"> / </span>
              <span aria-current="page">{open.name}</span>
            </>
          )}
        </nav>
        <div className="topbar-actions">
          <QueueButton open={queueOpen} onToggle={() => setQueueOpen((v) => !v)} />
          <button className="btn ghost" onClick={() => setDialog('settings')} title={`${modLabel}+,`}>
            Settings
          </button>
          <button className="btn ghost icon" onClick={() => setDialog('help')} aria-label="Keyboard shortcuts" title="?">
            ?
          </button>
        </div>
      </header>

      <main className="content">
        <div className={`view${open ? ' hidden' : ''}`} inert={!!open} aria-hidden={!!open}>
          <Gallery
            active={!open && !dialog && !batch}
            importing={importing}
            failures={failures}
            onDismissFailures={() => setFailures([])}
            onImport={(f) => void importDialog(f)}
            onOpen={setOpen}
            onRestore={(ps) => ps.length && setBatch(ps)}
          />
        </div>
        {open && (
          <div className="view">
            <PhotoView key={open.id} photoId={open.id} initial={open} onBack={back} active={!dialog} />
          </div>
        )}
      </main>

      <QueuePanel />

      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          <div>Drop photos or folders to import them</div>
        </div>
      )}

      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast ${t.kind}`}>
            <span>{t.text}</span>
            <button className="btn icon small" onClick={() => dismissToast(t.id)} aria-label="Dismiss">
              ×
            </button>
          </div>
        ))}
      </div>

      {dialog === 'settings' && <SettingsDialog onClose={() => setDialog(null)} />}
      {dialog === 'help' && <HelpDialog onClose={() => setDialog(null)} />}
      {batch && <BatchDialog photos={batch} onClose={() => setBatch(null)} />}
    </div>
  );
}
