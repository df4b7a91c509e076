/** The facts of one or two results: method, model, scale, knob, N, calls, fine steps, seed, time, metrics. */
import type { ReactNode } from 'react';
import type { Result } from '../../shared/types';
import { fmtDate, fmtMs, fmtNum } from '../format';

function region(r: Result): { x: number; y: number; w: number; h: number } | null {
  const g = r.info?.region as { x?: unknown; y?: unknown; w?: unknown; h?: unknown } | undefined;
  if (g && typeof g.w === 'number' && typeof g.h === 'number') {
    return { x: Number(g.x) || 0, y: Number(g.y) || 0, w: g.w, h: g.h };
  }
  return null;
}
export { region as resultRegion };

function fineRun(r: Result): string {
  const info = r.info ?? {};
  for (const key of ['fineLevelsRun', 'fineLevels', 'fineRun', 'levelsRun']) {
    const v = info[key];
    if (Array.isArray(v)) return v.length ? `${v.length}: ${v.join(', ')}` : '0';
    if (typeof v === 'number') return String(v);
  }
  return r.kind && r.method && !r.modelId ? 'n/a (classic)' : '—';
}

function calls(r: Result): string {
  const per = r.info?.callsPerTile;
  const tiles = r.info?.tiles;
  if (typeof per === 'number' && typeof tiles === 'number' && tiles > 1) return `${per} per tile (${r.calls.toLocaleString()} over ${tiles} tiles)`;
  return String(r.calls);
}

interface PortraitFace {
  restored?: boolean;
  reason?: string;
  calls?: number;
  fidelity?: number;
}
interface PortraitFacts {
  faces?: PortraitFace[];
  background?: string;
  faceModel?: string | null;
  backgroundCalls?: number;
}

/** info.portrait of a result made by method portrait, or null. */
export function portraitInfo(r: Result): PortraitFacts | null {
  const p = r.info?.portrait;
  return p && typeof p === 'object' && Array.isArray((p as PortraitFacts).faces) ? (p as PortraitFacts) : null;
}

function shortWhy(reason = ''): string {
  if (reason.startsWith('excluded')) return 'excluded';
  if (reason.startsWith('large face')) return 'large, enlarged';
  if (reason.startsWith('too small')) return 'too small';
  if (reason.startsWith('landmarks')) return 'not a face';
  if (reason.startsWith('no face model')) return 'no face model';
  return reason ? reason.split(':')[0] : 'kept';
}

function facesSummary(r: Result): string {
  const p = portraitInfo(r);
  if (!p) return '—';
  const faces = p.faces ?? [];
  const done = faces.filter((f) => f.restored).length;
  return `${done} of ${faces.length} restored${p.background ? ` · rest: ${p.background}` : ''}`;
}

function perFace(r: Result): ReactNode {
  const p = portraitInfo(r);
  if (!p || !p.faces?.length) return '—';
  return (
    <ol className="face-facts" data-testid="face-facts">
      {p.faces.map((f, i) => (
        <li key={i}>
          <span className="face-facts-n">{i + 1}</span>{' '}
          {f.restored ? `${f.calls ?? 0} calls · knob ${(f.fidelity ?? r.knob ?? 0).toFixed(2)}` : shortWhy(f.reason)}
        </li>
      ))}
    </ol>
  );
}

export function describeResult(r: Result): string {
  const what = r.modelId ?? r.method;
  const knob = r.knob != null ? ` · knob ${r.knob.toFixed(2)}` : '';
  return `${r.scale}× ${what}${knob}`;
}

type Row = [string, (r: Result) => ReactNode];
const ROWS: Row[] = [
  ['Kind', (r) => (r.kind === 'preview' ? `Preview of ${fmtRegion(r)}` : 'Full restore')],
  ['Method', (r) => r.method],
  ['Model', (r) => (r.modelId ? `${r.modelId}${r.modelVersion ? ` v${r.modelVersion}` : ''}` : '—')],
  ['Sampler', (r) => String(r.info?.sampler ?? '—')],
  ['Scale', (r) => `${r.scale}×  (${r.width}×${r.height})`],
  ['Knob', (r) => (r.knob != null ? r.knob.toFixed(2) : '—')],
  ['Split point N', (r) => (r.splitN != null ? String(r.splitN) : '—')],
  ['Denoiser calls', calls],
  ['Fine steps run', fineRun],
  ['Seed', (r) => (r.seed != null ? String(r.seed) : '—')],
  ['Time', (r) => fmtMs(r.durationMs)],
  ['Provider', (r) => String(r.info?.provider ?? '—')],
  ['Created', (r) => fmtDate(r.createdAt)],
];

function fmtRegion(r: Result) {
  const g = region(r);
  return g ? `${g.w}×${g.h} px at ${g.x}, ${g.y}` : 'a region';
}

const METRICS: Record<string, string> = {
  lrPsnr: 'LR-consistency PSNR (dB)',
  psnr: 'PSNR (dB)',
  ssim: 'SSIM',
  niqe: 'NIQE (lower is better)',
  niqeBlock: 'NIQE block size (px)',
};
function metricLabel(k: string): string {
  return METRICS[k] ?? k.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

export function ResultFacts({ a, b }: { a: Result | null; b: Result | null }) {
  if (!a) {
    return (
      <div className="facts empty">
        <p>No result yet. Restore the photo or preview a small area to see what the model does.</p>
      </div>
    );
  }
  const cols = b ? [a, b] : [a];
  const metricKeys = [...new Set(cols.flatMap((r) => Object.keys(r.metrics ?? {})))].sort();
  const rows: Row[] = cols.some((r) => portraitInfo(r))
    ? [...ROWS.slice(0, 8), ['Faces', facesSummary], ['Per face', perFace], ...ROWS.slice(8)]
    : ROWS;
  return (
    <div className="facts">
      <table>
        <caption className="visually-hidden">Facts of the shown result{b ? 's' : ''}</caption>
        {b && (
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Fact</span>
              </th>
              <th scope="col">A</th>
              <th scope="col">B</th>
            </tr>
          </thead>
        )}
        <tbody>
          {rows.map(([label, f]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              {cols.map((r) => (
                <td key={r.id}>{f(r)}</td>
              ))}
            </tr>
          ))}
          {metricKeys.map((k) => (
            <tr key={`m-${k}`}>
              <th scope="row">{metricLabel(k)}</th>
              {cols.map((r) => (
                <td key={r.id}>{r.metrics?.[k] != null ? fmtNum(r.metrics[k]) : '—'}</td>
              ))}
            </tr>
          ))}
          {metricKeys.length === 0 && (
            <tr>
              <th scope="row">Metrics</th>
              {cols.map((r) => (
                <td key={r.id}>none recorded</td>
              ))}
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
