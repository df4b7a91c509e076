/**
 * The renderer's one debouncer. `useDebouncedCallback(fn, ms)` gives a stable function: each call
 * (re)starts the wait, and `fn` runs `ms` after the last call with that call's arguments (the
 * latest `fn` of the component, so pass what must be the value *at call time* as arguments).
 * A pending call is dropped when the component unmounts. `useDebounced(value, ms)` is the value
 * `ms` after it last changed.
 */
import { useEffect, useRef, useState } from 'react';

export interface Debounced<A extends unknown[]> {
  /** (Re)start the wait of the hook's delay; `fn(...args)` runs when it ends. */
  (...args: A): void;
  /** The same with another wait, for this call only. */
  later(ms: number, ...args: A): void;
  /** True while a call waits. */
  pending(): boolean;
  /** Drop the waiting call, if any. */
  cancel(): void;
}

export function useDebouncedCallback<A extends unknown[]>(fn: (...args: A) => void, delayMs: number): Debounced<A> {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const delayRef = useRef(delayMs);
  delayRef.current = delayMs;
  const [debounced] = useState(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const cancel = () => {
      if (timer) clearTimeout(timer);
      timer = null;
    };
    const later = (ms: number, ...args: A) => {
      cancel();
      timer = setTimeout(() => {
        timer = null;
        fnRef.current(...args);
      }, ms);
    };
    const run = (...args: A) => later(delayRef.current, ...args);
    return Object.assign(run, { later, cancel, pending: () => timer !== null }) as Debounced<A>;
  });
  useEffect(() => debounced.cancel, [debounced]);
  return debounced;
}

/** `value`, `delayMs` after it last changed (the first render's value at once). */
export function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  const settle = useDebouncedCallback((v: T) => setSettled(() => v), delayMs);
  useEffect(() => settle(value), [value, settle]);
  return settled;
}
