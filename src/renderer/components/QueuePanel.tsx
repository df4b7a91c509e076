/** The job queue: every job with image i of n, tile and step progress, ETA and state; cancel, retry, clear. */
import { useEffect, useRef } from 'react';
import { isClassicMethod, type Job } from '../../shared/types';
import { call, errorLine } from '../api';
import { fmtMs, fmtTime } from '../format';
import { useApp, useJobs } from '../store';

const STATE_LABEL: Record<Job['state'], string> = {
  queued: 'Waiting',
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};
const MAX_ROWS = 400;

export function QueuePanel() {
  const { mergeJobs, refreshJobs, toast, queueOpen, setQueueOpen } = useApp();
  const { jobs, activeJobs } = useJobs();
  const closeRef = useRef<HTMLButtonElement>(null);
  // Focus follows the drawer: into it when it opens, back to the Queue button when it closes.
  const wasOpen = useRef(queueOpen);
  useEffect(() => {
    if (queueOpen && !wasOpen.current) closeRef.current?.focus({ preventScroll: true });
    if (!queueOpen && wasOpen.current) {
      const a = document.activeElement;
      if (!a || a === document.body || a.closest('.queue')) document.querySelector<HTMLElement>('.queue-btn')?.focus();
    }
    wasOpen.current = queueOpen;
  }, [queueOpen]);

  const act = async (f: () => Promise<Job | unknown>, what: string) => {
    try {
      const r = await f();
      if (r && typeof r === 'object' && 'id' in (r as Job)) mergeJobs([r as Job]);
      else await refreshJobs();
    } catch (e) {
      toast(`Could not ${what}: ${errorLine(e)}`, 'error');
    }
  };
  const clear = async () => {
    try {
      const r = await call('jobs.clearFinished', {});
      await refreshJobs();
      toast(`Cleared ${r.cleared} finished job${r.cleared === 1 ? '' : 's'}`);
    } catch (e) {
      toast(`Could not clear: ${errorLine(e)}`, 'error');
    }
  };

  const batchSizes = new Map<string, number>();
  for (const j of jobs) if (j.batchId) batchSizes.set(j.batchId, (batchSizes.get(j.batchId) ?? 0) + 1);
  const finished = jobs.length - activeJobs;

  return (
    <aside
      className={`queue${queueOpen ? ' open' : ''}`}
      aria-label="Queue"
      aria-hidden={!queueOpen}
      inert={!queueOpen}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          setQueueOpen(false);
        }
      }}
    >
      <div className="queue-head">
        <h2>
          Queue <span className="muted">{activeJobs ? `${activeJobs} active` : 'idle'}</span>
        </h2>
        <button className="btn small" onClick={clear} disabled={finished === 0}>
          Clear finished
        </button>
        <button ref={closeRef} className="btn icon" onClick={() => setQueueOpen(false)} aria-label="Close the queue">
          ×
        </button>
      </div>
      {jobs.length === 0 ? (
        <p className="muted queue-empty">No jobs yet. Restores and previews you start appear here.</p>
      ) : (
        <ol className="jobs">
          {jobs.slice(0, MAX_ROWS).map((j) => (
            <JobRow
              key={j.id}
              job={j}
              batchSize={j.batchId ? batchSizes.get(j.batchId) ?? 1 : 1}
              onCancel={() => act(() => call('jobs.cancel', { id: j.id }), 'cancel')}
              onCancelBatch={() => j.batchId && act(() => call('jobs.cancelBatch', { batchId: j.batchId! }), 'cancel the batch')}
              onRetry={() => act(() => call('jobs.retry', { id: j.id }), 'retry')}
            />
          ))}
          {jobs.length > MAX_ROWS && <li className="muted">…and {jobs.length - MAX_ROWS} more</li>}
        </ol>
      )}
    </aside>
  );
}

function finishedLine(j: Job): string {
  const at = j.finishedAt ? fmtTime(j.finishedAt) : '';
  const took = j.startedAt && j.finishedAt ? Date.parse(j.finishedAt) - Date.parse(j.startedAt) : null;
  if (j.state === 'done') return `finished ${at}${took != null ? ` · took ${fmtMs(took)}` : ''}`;
  if (j.state === 'cancelled') return `cancelled ${at}`;
  if (j.state === 'failed') return `failed ${at}${j.attempts > 1 ? ` after ${j.attempts} attempts` : ''}`;
  return '';
}

function JobRow({ job: j, batchSize, onCancel, onCancelBatch, onRetry }: { job: Job; batchSize: number; onCancel(): void; onCancelBatch(): void; onRetry(): void }) {
  const p = j.progress ?? { fraction: 0 };
  const active = j.state === 'queued' || j.state === 'running';
  const detail: string[] = [];
  if (p.image) detail.push(`image ${p.image.i} of ${p.image.n}`);
  if (p.tile) detail.push(`tile ${p.tile.i}/${p.tile.n}`);
  if (p.step) detail.push(`step ${p.step.k}/${p.step.K}`);
  if (j.state === 'running' && p.etaMs != null) detail.push(`ETA ${fmtMs(p.etaMs)}`);
  const params = `${j.params.scale}× ${j.params.method}${isClassicMethod(j.params.method) ? '' : ` · knob ${j.params.fidelity.toFixed(2)}`}`;
  return (
    <li className={`job state-${j.state}`} data-job-id={j.id} data-state={j.state}>
      <div className="job-top">
        <span className="job-name" title={j.photoName}>
          {j.photoName}
        </span>
        <span className={`chip ${j.state}`}>{STATE_LABEL[j.state]}</span>
      </div>
      <div className="job-sub">
        {j.kind === 'preview' ? 'Preview · ' : ''}
        {params}
        {batchSize > 1 ? ` · batch of ${batchSize}` : ''}
      </div>
      <div className="job-progress">
        <progress max={1} value={j.state === 'done' ? 1 : p.fraction ?? 0} aria-label={`Progress of ${j.photoName}`} />
        <span className="job-detail">{active ? detail.join(' · ') || (j.state === 'queued' ? 'waiting to start' : p.message ?? '') : finishedLine(j)}</span>
      </div>
      {j.error && (
        <div className="job-error" title={j.error}>
          {j.error.split('\n')[0]}
        </div>
      )}
      <div className="job-actions">
        {active && (
          <button className="btn small" onClick={onCancel} aria-label={`Cancel ${j.photoName}`}>
            Cancel
          </button>
        )}
        {active && batchSize > 1 && (
          <button className="btn small ghost" onClick={onCancelBatch}>
            Cancel batch
          </button>
        )}
        {(j.state === 'failed' || j.state === 'cancelled') && (
          <button className="btn small" onClick={onRetry} aria-label={`Retry ${j.photoName}`}>
            Retry
          </button>
        )}
      </div>
    </li>
  );
}
