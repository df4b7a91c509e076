/**
 * Keyboard shortcuts: components register handlers while mounted; one window listener dispatches.
 * Keys are written like 'mod+o', 'shift+?', '[', 'escape' ('mod' = Ctrl, or Cmd on macOS).
 */
import { useEffect, useRef } from 'react';

type Handler = (e: KeyboardEvent) => void | boolean;
const stack: Map<string, Handler>[] = [];

export const isMac = typeof navigator !== 'undefined' && /Mac/.test(navigator.platform);
export const modLabel = isMac ? '⌘' : 'Ctrl';

function keyOf(e: KeyboardEvent): string {
  let k = e.key.length === 1 ? e.key.toLowerCase() : e.key.toLowerCase();
  if (k === ' ') k = 'space';
  const mod = isMac ? e.metaKey : e.ctrlKey;
  const shift = e.shiftKey && (/^[a-z]$/.test(k) || e.key.length > 1);
  return `${mod ? 'mod+' : ''}${e.altKey ? 'alt+' : ''}${shift ? 'shift+' : ''}${k}`;
}

function typingTarget(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  if (t.isContentEditable) return true;
  if (t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return true;
  if (t instanceof HTMLInputElement) {
    return !['range', 'checkbox', 'radio', 'button', 'submit', 'reset', 'color'].includes(t.type);
  }
  return false;
}

function modalOpen(): boolean {
  return !!document.querySelector('dialog[open]');
}

function onKey(e: KeyboardEvent) {
  if (e.defaultPrevented || e.isComposing) return;
  const key = keyOf(e);
  const typing = typingTarget(e.target);
  if (typing && key !== 'escape' && !key.startsWith('mod+')) return;
  if (typing && (key === 'mod+a' || key === 'mod+c' || key === 'mod+v' || key === 'mod+x' || key === 'mod+z')) return;
  if (modalOpen()) return; // dialogs own the keyboard (Esc closes them natively)
  for (let i = stack.length - 1; i >= 0; i--) {
    const h = stack[i].get(key);
    if (h) {
      const r = h(e);
      if (r !== false) {
        e.preventDefault();
        return;
      }
    }
  }
}

let installed = false;
function install() {
  if (installed) return;
  installed = true;
  window.addEventListener('keydown', onKey);
}

/** Register shortcuts while the component is mounted; later registrations win. Return false to pass. */
export function useShortcuts(map: Record<string, Handler>, enabled = true): void {
  const ref = useRef(map);
  ref.current = map;
  useEffect(() => {
    if (!enabled) return;
    install();
    const m = new Map<string, Handler>();
    for (const k of Object.keys(ref.current)) m.set(k, (e) => ref.current[k]?.(e));
    stack.push(m);
    return () => {
      const i = stack.indexOf(m);
      if (i >= 0) stack.splice(i, 1);
    };
  }, [enabled, Object.keys(map).join('|')]);
}

export const SHORTCUTS: { keys: string; what: string; where: string }[] = [
  { keys: `${modLabel}+O`, what: 'Import photos', where: 'Anywhere' },
  { keys: `${modLabel}+Shift+O`, what: 'Import a folder', where: 'Anywhere' },
  { keys: `${modLabel}+,`, what: 'Settings', where: 'Anywhere' },
  { keys: 'Q', what: 'Show or hide the queue', where: 'Anywhere' },
  { keys: '?', what: 'This help', where: 'Anywhere' },
  { keys: `${modLabel}+A`, what: 'Select all photos', where: 'Library' },
  { keys: 'Arrows', what: 'Move between photos', where: 'Library' },
  { keys: 'Space', what: 'Select or unselect the focused photo', where: 'Library' },
  { keys: 'Shift+click, Shift+arrows', what: 'Select a range', where: 'Library' },
  { keys: `${modLabel}+click`, what: 'Add to or remove from the selection', where: 'Library' },
  { keys: 'Enter', what: 'Open the photo', where: 'Library' },
  { keys: 'R', what: 'Restore the selection, or this photo', where: 'Library, photo' },
  { keys: 'Delete', what: 'Remove the selection from the library (files stay)', where: 'Library' },
  { keys: 'Esc', what: 'Back to the library / close a dialog', where: 'Photo' },
  { keys: 'P', what: 'Preview the area under the loupe', where: 'Photo' },
  { keys: '[  /  ]', what: 'Knob toward Faithful / Detailed', where: 'Photo' },
  { keys: '+  /  −  /  0', what: 'Zoom in / out / fit', where: 'Photo' },
  { keys: '← →', what: 'Move the before/after divider (when focused)', where: 'Photo' },
  { keys: 'S', what: 'Slider / side by side', where: 'Photo' },
  { keys: 'F', what: 'Flick between the two sides', where: 'Photo' },
  { keys: 'L', what: 'Show or hide the preview loupe', where: 'Photo' },
  { keys: 'Enter / Space', what: 'Portrait: exclude or include the focused face outline', where: 'Photo' },
  { keys: 'Arrows, Alt+arrows, Delete', what: 'Portrait: move, resize or remove the focused added face', where: 'Photo' },
  { keys: 'Esc', what: 'Portrait: stop drawing a face', where: 'Photo' },
];
