// Tests that need the real Prometheus / Alertmanager programs use this to find them.
// On a machine without them the test is skipped with the install command; under CI=true
// their absence is a failure, so CI can never go green by skipping.
import { findExecutable, INSTALL_HINT } from '../../scripts/lib/host.js';

export { INSTALL_HINT };

export function findBinary(name: string): string | undefined {
  return findExecutable(name);
}

/**
 * Returns the path of `name`, or a skip reason for node:test's `{ skip }` option.
 * Throws when CI=true and the binary is missing.
 */
export function requireBinary(name: string): { path?: string; skip?: string } {
  const path = findBinary(name);
  if (path) return { path };
  const message = `${name} not found: install it with \`${INSTALL_HINT}\``;
  if (process.env.CI === 'true') throw new Error(`${message} (required under CI=true)`);
  return { skip: message };
}
