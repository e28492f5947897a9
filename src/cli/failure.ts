// How the CLI fails: one line on stderr, `edgewatch: <what>: <fix>`, and an exit code that
// says whose mistake it was (docs/cli.md): 2 for what was typed (ConfigError), 1 for what
// happened at run time (StartupError and the ledger's own errors).
import net from 'node:net';

/** Something outside the command line stopped a start (a port in use, a second sidecar): exit 1. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface PortSetting {
  port: number;
  host: string;
  /** What listens there, as the user knows it: "sidecar", "demo bot metrics". */
  what: string;
  flag: string;
  env: string;
}

function inUse(p: PortSetting): StartupError {
  return new StartupError(
    `port ${p.port} (${p.what}) on ${p.host} is in use: pass ${p.flag} <port> or set ${p.env}, or stop the program that holds it`,
  );
}

/**
 * Fails before anything starts when a port is taken, so that `start` does not back-fill a
 * week of trades or open a ledger only to give up at listen(). listen() still checks (a
 * port can be taken in between): see listenFailure.
 */
export async function checkPortFree(p: PortSetting): Promise<void> {
  if (p.port === 0) return;
  const problem = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = net.createServer();
    server.once('error', (err) => resolve(err));
    server.listen(p.port, p.host, () => server.close(() => resolve(undefined)));
  });
  if (problem) throw listenFailure(problem, p);
}

/** A listen() error as one line naming the port and the setting that moves it. */
export function listenFailure(err: unknown, p: PortSetting): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') return inUse(p);
  if (code === 'EACCES')
    return new StartupError(
      `port ${p.port} (${p.what}) needs privileges: pass ${p.flag} <port> with a port above 1023 or set ${p.env}`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new StartupError(
      `cannot listen on ${p.host} (${p.what}): this machine has no such address; pass another host or set its variable`,
    );
  return err instanceof Error ? err : new Error(String(err));
}
