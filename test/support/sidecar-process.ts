// The sidecar as operators run it: `node dist/src/cli/main.js sidecar` in its own process,
// configured by EDGEWATCH_* variables, with its log output captured.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface SidecarProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGKILL (default) or another signal; resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  exited: Promise<number | null>;
}

export interface SpawnSidecarOptions {
  db: string;
  env?: Record<string, string>;
  port?: number;
  /** Wait for this path to answer 200 (default /healthz); false: do not wait. */
  waitPath?: string | false;
  timeoutMs?: number;
}

export async function spawnSidecar(opts: SpawnSidecarOptions): Promise<SidecarProcess> {
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [CLI_MAIN, 'sidecar'], {
    env: {
      ...process.env,
      EDGEWATCH_LOG_FORMAT: 'json',
      EDGEWATCH_DB: opts.db,
      EDGEWATCH_PORT: String(port),
      EDGEWATCH_HOST: '127.0.0.1',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const proc: SidecarProcess = { child, port, url, output: () => out, kill, exited };
  if (opts.waitPath === false) return proc;
  const path = opts.waitPath ?? '/healthz';
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the sidecar exited with ${child.exitCode} before ${path} answered:\n${out}`);
    try {
      const res = await fetch(`${url}${path}`);
      await res.arrayBuffer();
      if (res.status === 200) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`the sidecar did not answer ${path} within ${opts.timeoutMs ?? 20_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
