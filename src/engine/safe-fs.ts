/**
 * File-system helpers for "nothing lost, nothing overwritten": one short temp-name pattern (and the
 * sweep that removes only stale files of that pattern), same-file checks that see through symlinks
 * and hard links, and errno codes turned into words for one-line messages.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** An output could not be written (folder not creatable, disk full, permission, a folder in the way). */
export class OutputError extends Error {
  constructor(
    readonly errno: string,
    message: string,
  ) {
    super(message);
    this.name = 'OutputError';
  }
}

/** Plain words for an errno code (the code itself when we have none). */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'disk is full';
    case 'ENAMETOOLONG':
      return 'file name too long';
    case 'EISDIR':
      return 'it is a folder';
    case 'ENOTDIR':
      return 'part of the path is not a folder';
    case 'ENOENT':
      return 'no such file or folder';
    case 'EEXIST':
      return 'already exists';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'EIO':
      return 'input/output error';
    default: {
      if (code) return code;
      const msg = e instanceof Error ? e.message : String(e);
      return msg.split('\n')[0].slice(0, 160) || 'unknown error';
    }
  }
}

/**
 * Our temp files: `.dg-<pid>-<6 hex>.tmp` in the destination's own folder (short, so a 250-byte
 * legal name still has a temp name; the pid lets a later run tell a dead writer's leftovers).
 */
export const TEMP_RE = /^\.dg-(\d{1,10})-[0-9a-f]{6}\.tmp$/;
/** The pattern earlier versions used (`.<name>.<pid>.<8 hex>.tmp`) and import's thumbnail temp. */
const OLD_TEMP_RES = [/^\..+\.(\d{1,10})\.[0-9a-f]{8}\.tmp$/, /^\.import-(\d{1,10})-\d+\.webp$/];

export function tempPathIn(dir: string): string {
  return path.join(dir, `.dg-${process.pid}-${randomBytes(3).toString('hex')}.tmp`);
}

/** True when a process with this pid exists on this machine (EPERM: it exists, not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid a temp name of ours carries, or null when the name is not ours. */
export function tempOwnerPid(name: string): number | null {
  for (const re of [TEMP_RE, ...OLD_TEMP_RES]) {
    const m = re.exec(name);
    if (m) return Number(m[1]);
  }
  return null;
}

/** Stale = its writer is gone (pid not alive here) or it is older than `maxAgeMs` (another host, pid reuse). */
export function isStaleTemp(pid: number, mtimeMs: number, now: number, maxAgeMs: number): boolean {
  if (pid === process.pid) return now - mtimeMs > maxAgeMs;
  return !pidAlive(pid) || now - mtimeMs > maxAgeMs;
}

export const STALE_TEMP_AGE_MS = 10 * 60_000;

/**
 * Removes our stale temp files directly in `dir` (not recursive; regular files matching our
 * patterns only; never anything else). Returns the paths removed. A missing folder is nothing to do.
 */
export async function sweepStaleTemps(dir: string, maxAgeMs = STALE_TEMP_AGE_MS, now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = tempOwnerPid(name);
    if (pid === null) continue;
    const p = path.join(dir, name);
    try {
      const st = await fsp.lstat(p);
      if (!st.isFile() || !isStaleTemp(pid, st.mtimeMs, now, maxAgeMs)) continue;
      await fsp.unlink(p);
      removed.push(p);
    } catch {
      /* gone already, or not ours to remove: leave it */
    }
  }
  return removed;
}

/** Identity of the file a path names (symlinks followed), or null when it does not exist. */
export function fileIdentity(p: string): { dev: number; ino: number; real: string } | null {
  try {
    const st = fs.statSync(p);
    return { dev: st.dev, ino: st.ino, real: fs.realpathSync(p) };
  } catch {
    return null;
  }
}

/** True when `a` and `b` name the same existing file: same realpath, or the same inode (hard link). */
export function sameFile(a: string, b: string): boolean {
  const x = fileIdentity(a);
  const y = fileIdentity(b);
  if (!x || !y) return false;
  return x.real === y.real || (x.dev === y.dev && x.ino === y.ino && x.ino !== 0);
}

/**
 * Creates `dir` (and parents). A failure says which folder and why in words; mkdir's own
 * ENOENT under a read-only parent is reported as what it is (permission denied / read-only).
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
    return;
  } catch (e) {
    throw new OutputError((e as NodeJS.ErrnoException).code ?? 'EIO', `cannot create output folder ${dir}: ${mkdirReason(dir, e)}`);
  }
}

function mkdirReason(dir: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EEXIST' || code === 'ENOTDIR') return `${firstNonFolder(dir) ?? dir} is not a folder`;
  if (code !== 'ENOENT') return fsReason(e);
  // Find the deepest folder that exists and ask it why.
  let p = path.resolve(dir);
  while (path.dirname(p) !== p && !fs.existsSync(p)) p = path.dirname(p);
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return fsReason(e);
  } catch (e2) {
    return fsReason(e2);
  }
}

function firstNonFolder(dir: string): string | null {
  let p = path.resolve(dir);
  const chain: string[] = [];
  while (path.dirname(p) !== p) {
    chain.unshift(p);
    p = path.dirname(p);
  }
  for (const c of chain) {
    try {
      if (!fs.statSync(c).isDirectory()) return c;
    } catch {
      return null;
    }
  }
  return null;
}

/** Longest file name most file systems take (bytes of UTF-8). */
export const MAX_NAME_BYTES = 255;

/** Shortens `stem` (never the suffix) on a code-point boundary so `stem + suffix` fits in `maxBytes`. */
export function fitName(stem: string, suffix: string, maxBytes = MAX_NAME_BYTES): string {
  const room = maxBytes - Buffer.byteLength(suffix);
  if (Buffer.byteLength(stem) <= room) return stem + suffix;
  let out = '';
  let used = 0;
  for (const ch of stem) {
    const b = Buffer.byteLength(ch);
    if (used + b > room) break;
    out += ch;
    used += b;
  }
  return out + suffix;
}
