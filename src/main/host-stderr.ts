/**
 * The engine host's stderr, minus the graphics stack's start-up noise (issue 18 item 4).
 *
 * Dawn (onnxruntime's WebGPU provider), the Vulkan loader and Mesa's drivers write straight to the
 * process's stderr when WebGPU is tried on a machine without a usable GPU — `Couldn't load Vulkan`,
 * `vkCreateInstance failed`, `error: XDG_RUNTIME_DIR is invalid or not set`, `Warning: Vulkan
 * shaderUniform*ArrayDynamicIndexing required.` with Dawn's ` - While initializing adapter` trace. The
 * reason WebGPU was not used is already kept where the user looks for it (the provider choice in the
 * result and `--json`, `daguerre doctor`), so these lines do not reach the terminal; the last few are kept
 * for diagnosis. Everything else the host writes is passed on unchanged, line by line.
 */
import { privateRuntimeDir } from '../engine/runtime-dir';

const NOISE = [
  /^error: XDG_RUNTIME_DIR is invalid or not set/,
  /^MESA(-LOADER)?: /,
  /^WARNING: lavapipe is not a conformant vulkan implementation/,
  /^Warning: Vulkan /,
  /Couldn't load Vulkan/,
  /vkCreateInstance failed/,
  /^\s*- While initializing adapter/,
  /^\s+at \S+ \(.*dawn.*\)$/,
];

/** True for a line of the graphics stack's start-up noise. */
export function isGraphicsNoise(line: string): boolean {
  return NOISE.some((r) => r.test(line));
}

/** How many filtered lines are kept (newest last). */
export const KEEP_NOISE = 50;

/**
 * A line filter: `push` text as it arrives, `end` at exit. Lines that are not noise go to `write` (with their
 * newline); a blank line right after a noise line is dropped with it. `kept` holds the last noise lines.
 */
export function stderrFilter(write: (s: string) => void) {
  let rest = '';
  let afterNoise = false;
  const kept: string[] = [];
  const line = (l: string) => {
    if (isGraphicsNoise(l)) {
      kept.push(l);
      if (kept.length > KEEP_NOISE) kept.shift();
      afterNoise = true;
    } else if (afterNoise && l.trim() === '') {
      afterNoise = false;
    } else {
      afterNoise = false;
      write(l + '\n');
    }
  };
  return {
    kept,
    push(chunk: string | Buffer) {
      const s = rest + chunk.toString();
      const parts = s.split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) line(p.endsWith('\r') ? p.slice(0, -1) : p);
    },
    end() {
      if (rest) line(rest);
      rest = '';
    },
  };
}

/**
 * The host's environment: on Linux without XDG_RUNTIME_DIR (ssh sessions, cluster jobs, CI), a private one
 * (mode 0700) so that Mesa's Vulkan drivers do not complain; everything else as given.
 */
export function hostEnv(base: NodeJS.ProcessEnv = process.env, platform: string = process.platform): NodeJS.ProcessEnv {
  const env = { ...base };
  if (platform === 'linux' && !env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = privateRuntimeDir();
  return env;
}

