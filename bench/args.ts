/** The bench scripts' command line: `option('--name')` is the word after `--name`, or undefined. */
const argv = process.argv.slice(2);

export function option(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
