/** webgpu is refused with a reason, before Dawn starts (and prints to stderr), when Linux has no Vulkan loader or driver. */
import { describe, expect, it } from 'vitest';
import { missingVulkan, vulkanStatus } from '../../src/engine/providers';

describe('missingVulkan', () => {
  it('not Linux: no opinion', () => expect(missingVulkan({}, 'darwin')).toBeNull());
  it('no loader: says so; with the system loader (libvulkan1 installed) the answer is about the driver or none', () => {
    const env = { LD_LIBRARY_PATH: '/nonexistent' };
    const r = missingVulkan(env, 'linux');
    if (!vulkanStatus(env).loader) expect(r).toBe('no Vulkan loader (libvulkan.so.1) found');
    else expect(r === null || /driver/.test(r)).toBe(true);
  });
  it('a driver file named in VK_ICD_FILENAMES that does not exist', () => {
    const r = missingVulkan({ VK_ICD_FILENAMES: '/nonexistent/icd.json' }, 'linux');
    expect(r).toMatch(/libvulkan|\/nonexistent\/icd\.json/);
  });
});
