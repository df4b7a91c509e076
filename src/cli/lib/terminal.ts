/**
 * Text for the terminal. File names may hold a newline, CR, escape sequences or bidi controls; printed
 * raw they break the one-line error or drive the terminal. Every message the CLI writes goes through
 * `printable`, which shows such characters as visible escapes (\n, \r, \t, \x1b, \u202e) and leaves
 * all other text as it is. (`--json` output is escaped by JSON.stringify already.)
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function printable(s: string): string {
  return s.replace(CONTROL, (c) => NAMED[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** One line on stderr, control characters made visible. */
export function errLine(s: string): void {
  process.stderr.write(printable(s) + '\n');
}
