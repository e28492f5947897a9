// What the tests, benchmarks and scripts ask of this machine: a free loopback port and the
// programs on PATH (Prometheus, Alertmanager, promtool, amtool), with one install hint.
import { accessSync, constants } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';

/** How to install the binaries the stack, the tests and the detection bench run (Debian). */
export const INSTALL_HINT =
  'apt-get update && apt-get install -y prometheus prometheus-alertmanager docker-compose (as root)';

/** The first of `names` that is an executable on PATH (or a path itself). */
export function findExecutable(...names: string[]): string | undefined {
  for (const name of names) {
    const candidates = name.includes('/')
      ? [name]
      : (process.env.PATH ?? '')
          .split(path.delimiter)
          .filter(Boolean)
          .map((d) => path.join(d, name));
    for (const file of candidates) {
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
