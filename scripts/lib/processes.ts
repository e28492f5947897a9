// Child processes for the native stack (scripts/stack.ts) and the end-to-end test: find the
// Debian binaries, start a program with its output kept (a log file and/or the last lines in
// memory, to show when it dies), wait until it answers, stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs compiled from dist/scripts/lib/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The compiled edgewatch CLI. */
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

import { INSTALL_HINT, findExecutable } from './host.js';

export { INSTALL_HINT, findExecutable };

/** Prometheus and Alertmanager, or a message naming what is missing and how to install it. */
export function findStackBinaries(env: NodeJS.ProcessEnv = process.env): {
  prometheus?: string;
  alertmanager?: string;
  problem?: string;
} {
  // Debian names Alertmanager prometheus-alertmanager; the upstream tarball names it alertmanager.
  const prometheus = findExecutable(
    ...(env.EDGEWATCH_PROMETHEUS_BIN ? [env.EDGEWATCH_PROMETHEUS_BIN] : ['prometheus']),
  );
  const alertmanager = findExecutable(
    ...(env.EDGEWATCH_ALERTMANAGER_BIN
      ? [env.EDGEWATCH_ALERTMANAGER_BIN]
      : ['prometheus-alertmanager', 'alertmanager']),
  );
  const missing = [
    ...(prometheus ? [] : [env.EDGEWATCH_PROMETHEUS_BIN ?? 'prometheus']),
    ...(alertmanager ? [] : [env.EDGEWATCH_ALERTMANAGER_BIN ?? 'prometheus-alertmanager']),
  ];
  if (!missing.length) return { prometheus, alertmanager };
  return {
    prometheus,
    alertmanager,
    problem:
      `not found on PATH: ${missing.join(', ')}.\n` +
      `Install Prometheus 2.42+ and Alertmanager 0.25+ (Debian/Ubuntu): ${INSTALL_HINT}\n` +
      `(Debian starts both as services on :9090 and :9093: \`sudo systemctl disable --now prometheus prometheus-alertmanager\` frees the ports)\n` +
      `or point EDGEWATCH_PROMETHEUS_BIN / EDGEWATCH_ALERTMANAGER_BIN at the binaries.`,
  };
}

/** True when nothing listens on host:port. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export interface Proc {
  name: string;
  child: ChildProcess;
  /** Resolves when the process has exited (code, or the signal that ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines of its output. */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Append stdout and stderr to this file too. */
  logFile?: string;
  cwd?: string;
}

/** Starts `bin args`, keeping the last 64 KiB of its output in memory. */
export function startProc(name: string, bin: string, args: string[], options: StartOptions = {}): Proc {
  const child = spawn(bin, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let file: WriteStream | undefined;
  if (options.logFile) file = createWriteStream(options.logFile, { flags: 'a' });
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-65_536);
    file?.write(chunk);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      keep(Buffer.from(`${name}: ${err.message}\n`));
      resolve({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  }).then((result) => {
    file?.end();
    return result;
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    exited,
    tail: (lines = 30) =>
      out
        .split('\n')
        .slice(-lines - 1)
        .join('\n'),
    stop: async (graceMs = 5000) => {
      if (!running()) return void (await exited);
      child.kill('SIGTERM');
      const timer = setTimeout(() => running() && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 2xx; fails early, with the program's last output, if it exits. */
export async function waitReady(proc: Proc, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  let last = '';
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${proc.name} exited before it was ready (${url}):\n${proc.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${proc.name} not ready at ${url} within ${timeoutMs} ms (${last}):\n${proc.tail()}`);
}

/** Prometheus command line: loopback only, its own data folder, links that work. */
export function prometheusArgs(o: { config: string; dataDir: string; port: number; host?: string }): string[] {
  const host = o.host ?? '127.0.0.1';
  return [
    `--config.file=${o.config}`,
    `--storage.tsdb.path=${o.dataDir}`,
    `--web.listen-address=${host}:${o.port}`,
    `--web.external-url=http://${host}:${o.port}`,
  ];
}

/** Alertmanager command line: loopback only, no cluster (a single instance gossips with nobody). */
export function alertmanagerArgs(o: { config: string; dataDir: string; port: number; host?: string }): string[] {
  const host = o.host ?? '127.0.0.1';
  return [
    `--config.file=${o.config}`,
    `--storage.path=${o.dataDir}`,
    `--web.listen-address=${host}:${o.port}`,
    `--web.external-url=http://${host}:${o.port}`,
    '--cluster.listen-address=',
  ];
}
