/**
 * The results of one photo in the photo view: the list (newest first), the one shown (A) and the
 * one compared with it (B, or the original), kept valid as results come and go. Jobs started
 * here are tracked: when one finishes its result is shown, a preview is compared with the
 * original, and a failure is told.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Result } from '../../shared/types';
import { call, errorLine } from '../api';
import { useApp, useEvent } from '../store';

export type Compared = 'original' | number;

export interface Results {
  /** Newest first; null until listed. */
  results: Result[] | null;
  aId: number | null;
  setAId(id: number | null): void;
  bSel: Compared;
  setBSel(b: Compared): void;
  /** List again; `select` is shown if it is there. */
  reload(select?: number): Promise<void>;
  /** Jobs this view started. */
  track(jobIds: number[]): void;
  /** Delete a result (told by a toast either way). */
  remove(r: Result): Promise<void>;
}

export function useResults(photoId: number): Results {
  const { toast } = useApp();
  const [results, setResults] = useState<Result[] | null>(null);
  const [aId, setAId] = useState<number | null>(null);
  const [bSel, setBSel] = useState<Compared>('original');
  const pending = useRef(new Set<number>());

  useEffect(() => {
    setResults(null);
    setAId(null);
    setBSel('original');
  }, [photoId, toast]);

  const reload = useCallback(
    async (select?: number) => {
      try {
        const list = await call('results.list', { photoId });
        list.sort((a, b) => b.id - a.id);
        setResults(list);
        setAId((cur) => {
          if (select != null && list.some((r) => r.id === select)) return select;
          if (cur != null && list.some((r) => r.id === cur)) return cur;
          return list.find((r) => r.kind === 'restore')?.id ?? list[0]?.id ?? null;
        });
        setBSel((b) => (b === 'original' || list.some((r) => r.id === b) ? b : 'original'));
      } catch (e) {
        toast(`Could not list results: ${errorLine(e)}`, 'error');
      }
    },
    [photoId, toast],
  );
  useEffect(() => {
    void reload();
  }, [reload]);

  useEvent('job.finished', ({ job, result }) => {
    if (job.photoId !== photoId) return;
    const mine = pending.current.delete(job.id);
    if (result) void reload(mine ? result.id : undefined);
    if (mine && job.state === 'failed') toast(`${job.kind === 'preview' ? 'Preview' : 'Restore'} failed: ${job.error ?? 'unknown error'}`, 'error');
    if (mine && result && job.kind === 'preview') setBSel('original');
  });

  const track = (jobIds: number[]) => {
    for (const id of jobIds) pending.current.add(id);
  };

  const remove = async (r: Result) => {
    try {
      await call('results.delete', { id: r.id });
      toast('Result deleted', 'ok');
      if (aId === r.id) setAId(null);
      if (bSel === r.id) setBSel('original');
      await reload();
    } catch (e) {
      toast(`Could not delete: ${errorLine(e)}`, 'error');
    }
  };

  return { results, aId, setAId, bSel, setBSel, reload, track, remove };
}
