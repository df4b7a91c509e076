/** webgpu is refused with a reason, before Dawn starts (and prints to stderr), when Linux has no Vulkan loader or driver. */
import { describe, expect, it } from 'vitest';
import { missingVulkan } from '../../src/engine/providers';

describe('missingVulkan', () => {
  it('not Linux: no opinion', () => expect(missingVulkan({}, 'darwin')).toBeNull());
  it('no loader', () => expect(missingVulkan({ LD_LIBRARY_PATH: '/nonexistent' }, 'linux') ?? 'has loader').toMatch(/loader|has loader/));
  it('a driver file named in VK_ICD_FILENAMES that does not exist', () => {
    const r = missingVulkan({ VK_ICD_FILENAMES: '/nonexistent/icd.json' }, 'linux');
    expect(r).toMatch(/libvulkan|\/nonexistent\/icd\.json/);
  });
});
