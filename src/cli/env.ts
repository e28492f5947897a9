// Start-up configuration from EDGEWATCH_* variables and flags. A bad value stops the
// process with a message that names the variable (or flag) and what it accepts.
import { ConfigError } from '../errors.js';

export function readPort(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new ConfigError(`${name} must be a port number 0-65535 (got "${value}")`);
  return n;
}

export function readBool(value: string | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be true or false (got "${value}")`);
}

export function readInt(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || n < min || n > max)
    throw new ConfigError(`${name} must be an integer between ${min} and ${max} (got "${value}")`);
  return n;
}

export function readHost(value: string | undefined, name: string, fallback: string): string {
  if (value === undefined || value === '') return fallback;
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(value))
    throw new ConfigError(`${name} must be a host name or IP address (got "${value}")`);
  return value;
}

/**
 * Flag value if given, else the environment variable, with the name to put in an error.
 * The flag is named explicitly: deriving it from the variable gave `--demo-seed` for
 * `demo --seed`, a flag that does not exist.
 */
export function pick(flag: string | undefined, flagName: string, env: string): [string | undefined, string] {
  return flag !== undefined ? [flag, flagName] : [process.env[env], env];
}
