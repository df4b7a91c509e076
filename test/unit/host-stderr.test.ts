/** The engine host's stderr filter: the graphics stack's start-up noise is dropped, everything else passes. */
import { describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { hostEnv, isGraphicsNoise, KEEP_NOISE, stderrFilter } from '../../src/main/host-stderr';

// Captured on this machine (Debian 12, mesa-vulkan-drivers, no GPU, no XDG_RUNTIME_DIR): an auto restore's stderr.
const CAPTURED = [
  'error: XDG_RUNTIME_DIR is invalid or not set in the environment.',
  'error: XDG_RUNTIME_DIR is invalid or not set in the environment.',
  'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.',
  ' - While initializing adapter (backend=BackendType::Vulkan)',
  '    at InitializeImpl (/build/Release/_deps/dawn-src/src/dawn/native/vulkan/PhysicalDeviceVk.cpp:253)',
  '',
];

describe('host stderr filter', () => {
  it('drops the captured Dawn / Vulkan / Mesa lines and the blank line after them, keeps them for diagnosis', () => {
    let out = '';
    const f = stderrFilter((s) => (out += s));
    f.push(CAPTURED.join('\n') + '\n');
    f.push("Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file\nvkCreateInstance failed\n");
    f.end();
    expect(out).toBe('');
    expect(f.kept.length).toBe(7);
  });

  it('passes every other line unchanged, also split across chunks and without a final newline', () => {
    let out = '';
    const f = stderrFilter((s) => (out += s));
    f.push('error: /p/x.png: not an image (unsupported format)\nwarn');
    f.push('ing: something else\n\nlast line');
    f.end();
    expect(out).toBe('error: /p/x.png: not an image (unsupported format)\nwarning: something else\n\nlast line\n');
    expect(f.kept).toEqual([]);
  });

  it('a real error between noise lines still gets through; CRLF lines are handled', () => {
    let out = '';
    const f = stderrFilter((s) => (out += s));
    f.push('Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.\r\nengine: out of memory\r\n');
    f.end();
    expect(out).toBe('engine: out of memory\n');
    expect(isGraphicsNoise('engine: out of memory')).toBe(false);
    expect(isGraphicsNoise('    at run (/app/src/engine/restore.ts:10:3)')).toBe(false);
  });

  it(`keeps at most ${KEEP_NOISE} noise lines`, () => {
    const f = stderrFilter(() => {});
    for (let i = 0; i < KEEP_NOISE + 10; i++) f.push(`MESA: warning ${i}\n`);
    expect(f.kept.length).toBe(KEEP_NOISE);
    expect(f.kept.at(-1)).toBe(`MESA: warning ${KEEP_NOISE + 9}`);
  });

  it('hostEnv: a private XDG_RUNTIME_DIR (0700) on Linux when none is set; a set one and other systems unchanged', () => {
    const env = hostEnv({ PATH: '/bin' }, 'linux');
    expect(env.PATH).toBe('/bin');
    expect(existsSync(env.XDG_RUNTIME_DIR!)).toBe(true);
    expect(statSync(env.XDG_RUNTIME_DIR!).mode & 0o777).toBe(0o700);
    expect(hostEnv({ XDG_RUNTIME_DIR: '/run/user/1000' }, 'linux').XDG_RUNTIME_DIR).toBe('/run/user/1000');
    expect(hostEnv({}, 'darwin').XDG_RUNTIME_DIR).toBeUndefined();
  });
});
