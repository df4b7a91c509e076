import * as os from 'node:os';
import * as path from 'node:path';

/** The library folder the app and the CLI share: $DAGUERRE_HOME, else the platform's user-data folder. */
export function defaultLibraryDir(): string {
  if (process.env.DAGUERRE_HOME) return path.resolve(process.env.DAGUERRE_HOME);
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Daguerre');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Daguerre');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'daguerre');
}
