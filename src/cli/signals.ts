// Long-running commands stop cleanly on SIGINT / SIGTERM.
import type { Logger } from '../log.js';

/**
 * Resolves once `close` has finished after the first SIGINT or SIGTERM. Ctrl-C reaches a child
 * of `edgewatch start` twice (from the terminal and forwarded by the parent): later signals
 * are ignored instead of killing the process halfway through closing.
 */
export function untilSignal(log: Logger, what: string, close: () => Promise<void>): Promise<void> {
  return new Promise<void>((done) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      log.info(`${what} stopping`);
      void close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
