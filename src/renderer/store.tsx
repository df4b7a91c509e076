/** App-wide data: settings, models, methods, the job list, toasts. Loaded once, kept fresh by events. */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { Job, MethodInfo, ModelInfo, Settings } from '../shared/types';
import { call, errorLine, on } from './api';

export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'ok' | 'error';
}

export interface AppData {
  settings: Settings | null;
  saveSettings(patch: Partial<Settings>): Promise<Settings>;
  models: ModelInfo[];
  methods: MethodInfo[];
  refreshJobs(): Promise<void>;
  mergeJobs(jobs: Job[]): void;
  toast(text: string, kind?: Toast['kind']): void;
  toasts: Toast[];
  dismissToast(id: number): void;
  queueOpen: boolean;
  setQueueOpen(v: boolean | ((v: boolean) => boolean)): void;
  loadError: string | null;
}

/** The job list changes many times a second while jobs run: its own context, so only its readers re-render. */
export interface JobsData {
  jobs: Job[];
  activeJobs: number;
}

const Ctx = createContext<AppData | null>(null);
const JobsCtx = createContext<JobsData>({ jobs: [], activeJobs: 0 });

export function useJobs(): JobsData {
  return useContext(JobsCtx);
}

export function useApp(): AppData {
  const v = useContext(Ctx);
  if (!v) throw new Error('useApp outside AppProvider');
  return v;
}

function applyTheme(theme: Settings['theme']) {
  const root = document.documentElement;
  if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  else delete root.dataset.theme;
  try {
    localStorage.setItem('daguerre.theme', theme);
  } catch {
    /* storage unavailable */
  }
}

function notify(title: string, body: string) {
  if (typeof Notification === 'undefined') return;
  const show = () => {
    try {
      new Notification(title, { body });
    } catch {
      /* notifications unavailable */
    }
  };
  if (Notification.permission === 'granted') show();
  else if (Notification.permission === 'default') void Notification.requestPermission().then((p) => p === 'granted' && show());
}

export function AppProvider({ children }: { children: ReactNode }) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [methods, setMethods] = useState<MethodInfo[]>([]);
  const [jobMap, setJobMap] = useState<Map<number, Job>>(new Map());
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [queueOpen, setQueueOpen] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const toastId = useRef(0);

  const dismissToast = useCallback((id: number) => setToasts((t) => t.filter((x) => x.id !== id)), []);
  const toast = useCallback(
    (text: string, kind: Toast['kind'] = 'info') => {
      const id = ++toastId.current;
      setToasts((t) => [...t.slice(-3), { id, text, kind }]);
      setTimeout(() => dismissToast(id), kind === 'error' ? 9000 : 5000);
    },
    [dismissToast],
  );

  const mergeJobs = useCallback((list: Job[]) => {
    setJobMap((prev) => {
      const next = new Map(prev);
      for (const j of list) next.set(j.id, j);
      return next;
    });
  }, []);

  // Models carry this computer's measured speed, which every finished diffusion job refines.
  const modelsReq = useRef(0);
  const refreshModels = useCallback(async () => {
    const n = ++modelsReq.current;
    try {
      const mo = await call('models.list', {});
      if (n === modelsReq.current) setModels(mo);
    } catch {
      /* keep the models we have */
    }
  }, []);

  const refreshJobs = useCallback(async () => {
    const list = await call('jobs.list', { limit: 1000 });
    setJobMap(new Map(list.map((j) => [j.id, j])));
  }, []);

  useEffect(() => {
    let alive = true;
    (async () => {
      try {
        const s = await call('settings.get', {});
        if (!alive) return;
        setSettings(s);
        applyTheme(s.theme);
        // Models and methods are needed by the photo view and dialogs, not by the first screen:
        // fetch them once the gallery has had its turn (model discovery can take a second).
        await new Promise((r) => setTimeout(r, 400));
        const req = ++modelsReq.current;
        const [mo, me] = await Promise.all([call('models.list', {}), call('methods.list', {})]);
        if (!alive) return;
        if (req === modelsReq.current) setModels(mo);
        setMethods(me);
        await refreshJobs();
      } catch (e) {
        if (alive) setLoadError(errorLine(e));
      }
    })();
    const offs = [
      on('job.progress', (j) => mergeJobs([j])),
      on('job.finished', ({ job, result }) => {
        mergeJobs([job]);
        if (job.state === 'done' && result && result.calls > 0) void refreshModels();
      }),
      on('jobs.batchFinished', (b) => {
        void refreshJobs().catch(() => {});
        if (b.done + b.failed + b.cancelled < 2) return; // a single job: its own view says it finished
        const parts = [`${b.done} done`];
        if (b.failed) parts.push(`${b.failed} failed`);
        if (b.cancelled) parts.push(`${b.cancelled} cancelled`);
        const text = `Batch finished: ${parts.join(', ')}`;
        toast(text, b.failed ? 'error' : 'ok');
        notify('Daguerre — batch finished', parts.join(', '));
      }),
    ];
    return () => {
      alive = false;
      offs.forEach((f) => f());
    };
  }, [mergeJobs, refreshJobs, refreshModels, toast]);

  const saveSettings = useCallback(async (patch: Partial<Settings>) => {
    const s = await call('settings.set', { patch });
    setSettings(s);
    applyTheme(s.theme);
    if (patch.provider !== undefined) void refreshModels(); // speeds are per provider
    return s;
  }, [refreshModels]);

  const jobs = useMemo(() => {
    const order: Record<Job['state'], number> = { running: 0, queued: 1, failed: 2, cancelled: 3, done: 4 };
    return [...jobMap.values()].sort((a, b) => {
      const aa = a.state === 'running' || a.state === 'queued' ? 0 : 1;
      const bb = b.state === 'running' || b.state === 'queued' ? 0 : 1;
      if (aa !== bb) return aa - bb;
      if (aa === 0) return order[a.state] - order[b.state] || a.id - b.id;
      return b.id - a.id;
    });
  }, [jobMap]);
  const activeJobs = useMemo(() => jobs.filter((j) => j.state === 'queued' || j.state === 'running').length, [jobs]);

  const value: AppData = useMemo(
    () => ({
      settings,
      saveSettings,
      models,
      methods,
      refreshJobs,
      mergeJobs,
      toast,
      toasts,
      dismissToast,
      queueOpen,
      setQueueOpen,
      loadError,
    }),
    [settings, saveSettings, models, methods, refreshJobs, mergeJobs, toast, toasts, dismissToast, queueOpen, loadError],
  );
  const jobsValue = useMemo(() => ({ jobs, activeJobs }), [jobs, activeJobs]);
  return (
    <Ctx.Provider value={value}>
      <JobsCtx.Provider value={jobsValue}>{children}</JobsCtx.Provider>
    </Ctx.Provider>
  );
}

/** Subscribe to an event for the life of the component (latest callback wins). */
export function useEvent<E extends Parameters<typeof on>[0]>(name: E, cb: Parameters<typeof on<E>>[1]): void {
  const ref = useRef(cb);
  ref.current = cb;
  useEffect(() => on(name, (p) => ref.current(p)), [name]);
}
