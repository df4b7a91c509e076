/** Placeholder until bench/faces-template.ts has run. */
export const TEMPLATE_128 = { size: 128, points: [[44, 52], [84, 52], [64, 74], [48, 94], [80, 94]], how: 'placeholder' };
