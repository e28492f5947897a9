// Renders alertmanager/alertmanager.template.yml from environment variables, the same way
// alertmanager/entrypoint.sh does in the container (test/alerting.test.ts checks that both
// produce the same text). Used by the tests and the native stack; the template's header
// documents every variable. Alertmanager 0.25 cannot read the Discord webhook URL from a
// file, hence rendering at start instead of committing a finished configuration.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// This file runs compiled from dist/alertmanager/, the configuration lives in alertmanager/.
export const ALERTMANAGER_DIR = fileURLToPath(new URL('../../alertmanager/', import.meta.url));
export const ALERTMANAGER_TEMPLATE_PATH = `${ALERTMANAGER_DIR}alertmanager.template.yml`;
export const ALERTMANAGER_TEMPLATES_DIR = `${ALERTMANAGER_DIR}templates`;
export const ALERTMANAGER_ENTRYPOINT_PATH = `${ALERTMANAGER_DIR}entrypoint.sh`;

/** `${NAME}` (required) or `${NAME:-default}`; the same pattern as entrypoint.sh's awk. */
const PLACEHOLDER = /\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g;
const COMMENT = /^\s*#/;

export interface Placeholder {
  name: string;
  /** undefined: required. */
  default?: string;
}

export interface RenderAlertmanagerOptions {
  /** Template text; default: the committed alertmanager.template.yml. */
  template?: string;
  /** Directory of the *.tmpl notification templates; default: alertmanager/templates. */
  templatesDir?: string;
}

/** Every placeholder of the template (comment lines excluded), in order of first use. */
export function alertmanagerPlaceholders(template = readFileSync(ALERTMANAGER_TEMPLATE_PATH, 'utf8')): Placeholder[] {
  const seen = new Map<string, Placeholder>();
  for (const line of template.split('\n')) {
    if (COMMENT.test(line)) continue;
    for (const m of line.matchAll(PLACEHOLDER)) {
      if (!seen.has(m[1])) seen.set(m[1], m[2] === undefined ? { name: m[1] } : { name: m[1], default: m[2] });
    }
  }
  return [...seen.values()];
}

/**
 * The Alertmanager configuration with every placeholder filled from `env`. An empty
 * variable counts as unset (as in sh's `${NAME:-default}`). Throws one error naming every
 * missing required variable, or a variable holding a quote or newline (it would break
 * out of its YAML string).
 */
export function renderAlertmanagerConfig(
  env: Record<string, string | undefined> = process.env,
  options: RenderAlertmanagerOptions = {},
): string {
  const template = options.template ?? readFileSync(ALERTMANAGER_TEMPLATE_PATH, 'utf8');
  const vars: Record<string, string | undefined> = {
    ...env,
    EDGEWATCH_AM_TEMPLATES_DIR: options.templatesDir || env.EDGEWATCH_AM_TEMPLATES_DIR || ALERTMANAGER_TEMPLATES_DIR,
  };
  const missing = new Set<string>();
  const unsafe = new Set<string>();
  const out = template.split('\n').map((line) => {
    if (COMMENT.test(line)) return line;
    return line.replace(PLACEHOLDER, (_all, name: string, dflt: string | undefined) => {
      const value = vars[name] || dflt;
      if (value === undefined) {
        missing.add(name);
        return '';
      }
      if (/['\n\r]/.test(value)) unsafe.add(name);
      return value;
    });
  });
  const problems: string[] = [];
  if (missing.size) problems.push(`missing required variable(s): ${[...missing].join(', ')}`);
  if (unsafe.size) problems.push(`variable(s) must not contain a quote or newline: ${[...unsafe].join(', ')}`);
  if (problems.length) {
    throw new Error(
      `cannot render the Alertmanager configuration: ${problems.join('; ')} (see ${ALERTMANAGER_TEMPLATE_PATH})`,
    );
  }
  return out.join('\n');
}
