/** Errors the engine raises for bad input: one readable line, naming the file and the reason. */
export type InputErrorCode = 'EMPTY' | 'NOT_FOUND' | 'UNSUPPORTED' | 'CORRUPT' | 'TOO_LARGE' | 'NOT_A_FILE' | 'OUTPUT_EXISTS' | 'OUTPUT_UNWRITABLE';

export class InputError extends Error {
  constructor(
    public readonly code: InputErrorCode,
    public readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'InputError';
  }
}

export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

export function isCancel(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || e instanceof CancelledError);
}

/** First line of an error's message, without a stack, for users. */
export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].trim() || 'unknown error';
}
