/**
 * A private XDG_RUNTIME_DIR for the processes we start on Linux when the user's is missing (ssh sessions, cluster
 * jobs, CI): Mesa's Vulkan drivers complain without one (host-stderr.ts), and SwiftShader's WebGPU runs want one
 * (providers.ts softwareVulkanEnv). One empty folder per process (mode 0700, from mkdtemp), shared by every child it
 * starts, removed when the process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let runtimeDir: string | null = null;

export function privateRuntimeDir(): string {
  if (!runtimeDir) {
    const dir = mkdtempSync(join(tmpdir(), 'daguerre-xdg-'));
    runtimeDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return runtimeDir;
}
