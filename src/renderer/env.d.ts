/** Globals of the renderer: the preload's API. (Script file on purpose: no imports at top level.) */
interface Window {
  daguerre: import('../shared/contract').DaguerreApi;
}
declare module '*.css';
