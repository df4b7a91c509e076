/**
 * Damage repair (issue 17): a classical detector (detect.ts), Telea inpainting (inpaint.ts), masks
 * (mask.ts) and synthetic damage for the bench and tests (synth.ts). The diffusion side (RePaint-style
 * resampling inside the mask) is DiffusionOptions.repair in ../diffusion/index.ts.
 */
export { detectDamage, DETECT_DEFAULTS, type DetectOptions } from './detect';
export { inpaintTelea, type InpaintOptions } from './inpaint';
export { cropMask, dilateMask, emptyMask, fitMask, maskFromImage, maskPixels, maskToImage, resizeMaskNearest, usableMask, type Mask } from './mask';
export { applyDamage, synthMask, DAMAGE_KINDS, DAMAGE_SIZES, type DamageKind, type DamageSize } from './synth';
