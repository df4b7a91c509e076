/**
 * faces.detect: the faces of a photo, found in the engine host (off the main thread) and cached in
 * the library database per file content (sha256) and detector, so a second ask answers at once and
 * a re-imported or moved copy of the same file reuses the answer.
 */
import * as fs from 'node:fs';
import type { DB } from './db';
import { nowIso, stmt } from './db';
import { hashFile } from './library';
import type { EngineClient } from './engine-client';
import type { FaceDetectReport, FoundFace, Photo } from '../shared/types';
import type { FoundFaceRaw } from '../engine/faces/find';
import { faceDetectorId } from '../engine/faces/detect';
import { defaultLimits, skipReason } from '../engine/faces/limits';

/** A failure with the code the IPC handler answers with. */
export class FaceError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'IO' | 'UNSUPPORTED' | 'INTERNAL',
    message: string,
  ) {
    super(message);
  }
}

export class FaceFinder {
  private inflight = new Map<string, Promise<{ faces: FoundFaceRaw[]; ms: number }>>();

  constructor(
    private readonly db: DB,
    private readonly engine: EngineClient,
  ) {}

  cached(hash: string, detector: string): { faces: FoundFaceRaw[]; ms: number } | null {
    const row = stmt(this.db, `SELECT faces, ms FROM face_detections WHERE hash = ? AND detector = ?`).get(hash, detector) as { faces: string; ms: number } | undefined;
    if (!row) return null;
    try {
      return { faces: JSON.parse(row.faces) as FoundFaceRaw[], ms: row.ms };
    } catch {
      return null;
    }
  }

  /**
   * The faces of `photo`. With `naturalBackground` (true/false: whether portrait would enlarge the
   * rest with a natural model at the asked scale), each face says whether portrait would restore it.
   */
  async detect(photo: Photo, naturalBackground?: boolean): Promise<FaceDetectReport> {
    if (!fs.existsSync(photo.path)) throw new FaceError('NOT_FOUND', `${photo.name}: the original file is missing (${photo.path})`);
    let hash: string;
    try {
      hash = await hashFile(photo.path);
    } catch (e) {
      throw new FaceError('IO', `${photo.name}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const detector = faceDetectorId();
    let hit = this.cached(hash, detector);
    const cached = !!hit;
    if (!hit) {
      const key = `${hash}|${detector}`;
      let p = this.inflight.get(key);
      if (!p) {
        p = this.engine
          .findFaces(photo.path)
          .then((a) => {
            stmt(this.db, `INSERT OR REPLACE INTO face_detections (hash, detector, faces, ms, created_at) VALUES (?, ?, ?, ?, ?)`).run(hash, a.detector, JSON.stringify(a.faces), a.ms, nowIso());
            return { faces: a.faces, ms: a.ms };
          })
          .catch((e: { code?: string; message?: string }) => {
            const msg = (e.message ?? String(e)).split('\n')[0];
            if (e.code === 'DETECTOR') throw new FaceError('UNSUPPORTED', msg);
            if (e.code === 'NOT_FOUND' || e.code === 'EMPTY' || e.code === 'CORRUPT' || e.code === 'UNSUPPORTED' || e.code === 'TOO_LARGE' || e.code === 'NOT_A_FILE') {
              throw new FaceError('IO', `${photo.name}: cannot read the photo (${msg.replace(`${photo.path}: `, '')})`);
            }
            throw new FaceError('INTERNAL', `finding faces failed: ${msg}`);
          })
          .finally(() => this.inflight.delete(key));
        this.inflight.set(key, p);
      }
      hit = await p;
    }
    const limits = naturalBackground === undefined ? null : defaultLimits(naturalBackground);
    const faces: FoundFace[] = hit.faces.map((f) => {
      const out: FoundFace = { box: f.box, score: f.score, landmarks: f.landmarks, residual: f.residual, framePx: f.framePx };
      if (limits) {
        const why = skipReason(f.residual, f.framePx, limits);
        out.restorable = !why;
        if (why) out.reason = why;
      }
      return out;
    });
    return { faces, ms: hit.ms, cached, detector };
  }
}
