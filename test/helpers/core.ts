/** Test helpers for a real Core (src/main/core.ts). */
import type { Core } from '../../src/main/core';
import type { Job, Result } from '../../src/shared/types';

/** Resolves when the job reaches done/failed/cancelled (at once if it already has), with its result. */
export function waitJobFinished(core: Core, jobId: number, ms = 120_000): Promise<{ job: Job; result: Result | null }> {
  const now = core.queue.get(jobId);
  if (now && ['done', 'failed', 'cancelled'].includes(now.state)) {
    return Promise.resolve({ job: now, result: now.resultId ? core.library.getResult(now.resultId) : null });
  }
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`job ${jobId} did not finish`)), ms);
    const off = core.onEvent((name, payload) => {
      const p = payload as { job: Job; result: Result | null };
      if (name === 'job.finished' && p.job.id === jobId) {
        clearTimeout(t);
        off();
        resolve(p);
      }
    });
  });
}
