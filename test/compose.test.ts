// docker-compose.yml and the Dockerfile: `docker-compose config` (1.29) validates the stack
// and its parsed output is checked for the services, pinned images, the shared ledger
// volume and health checks. `config` does not look at bind-mount sources, so every host
// file the containers are told to read is checked to exist here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary, requireBinary } from './support/binaries.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Volume {
  type: 'bind' | 'volume';
  source: string;
  target: string;
  read_only?: boolean;
}
interface Service {
  image?: string;
  build?: { context: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: Volume[];
  healthcheck?: { test?: string[] };
}
interface ComposeConfig {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** docker-compose 1.29 prints YAML only; its own Python (which has PyYAML) turns that into JSON. */
function yamlToJson(composePath: string, yaml: string): unknown {
  const shebang = readFileSync(composePath, 'utf8').split('\n')[0] ?? '';
  const python = shebang.startsWith('#!') ? shebang.slice(2).trim().split(/\s+/) : ['python3'];
  const json = execFileSync(
    python[0],
    [...python.slice(1), '-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    {
      input: yaml,
      encoding: 'utf8',
    },
  );
  return JSON.parse(json);
}

/** Parses "source:target[:mode]" strings (older docker-compose) as well as long-form objects. */
function volumesOf(s: Service): Volume[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return v;
    const [source = '', target = '', mode = ''] = (v as string).split(':');
    return {
      type: source.startsWith('/') || source.startsWith('.') ? 'bind' : 'volume',
      source,
      target,
      read_only: mode.split(',').includes('ro'),
    };
  });
}

const compose = requireBinary('docker-compose');

function runConfig(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  // An empty --env-file keeps a developer's .env out of the test.
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-compose-'));
  try {
    writeFileSync(join(dir, 'empty.env'), '');
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(EDGEWATCH_|DISCORD_|SMTP_|DEADMANS_|GRAFANA_)/.test(k)),
    );
    const r = spawnSync(
      compose.path!,
      ['--env-file', join(dir, 'empty.env'), '-f', join(ROOT, 'docker-compose.yml'), 'config'],
      {
        env: { ...clean, ...env },
        encoding: 'utf8',
      },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('docker-compose stack', { skip: compose.skip }, () => {
  const TOKEN = 'test-token-1234';
  let cached: ComposeConfig | undefined;
  const config = (): ComposeConfig => {
    if (cached) return cached;
    const r = runConfig({ EDGEWATCH_TOKEN: TOKEN });
    assert.equal(r.status, 0, `docker-compose config failed:\n${r.stderr}`);
    return (cached = yamlToJson(compose.path!, r.stdout) as ComposeConfig);
  };

  test('docker-compose config accepts the file and lists the five services', () => {
    assert.deepEqual(Object.keys(config().services).sort(), [
      'alertmanager',
      'bot',
      'grafana',
      'prometheus',
      'sidecar',
    ]);
  });

  test('without EDGEWATCH_TOKEN the stack refuses to start, naming the variable', () => {
    const r = runConfig({});
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /set EDGEWATCH_TOKEN/);
  });

  test('images are pinned to the versions the tests run', () => {
    const s = config().services;
    assert.equal(s.prometheus.image, 'prom/prometheus:v2.42.0');
    assert.equal(s.alertmanager.image, 'prom/alertmanager:v0.25.0');
    assert.equal(s.grafana.image, 'grafana/grafana:11.6.0');
    // The same versions as the local binaries the other tests run, when they are installed.
    const version = (bin: string) => {
      const path = findBinary(bin);
      return path
        ? /version (\d+\.\d+\.\d+)/.exec(execFileSync(path, ['--version'], { encoding: 'utf8' }))?.[1]
        : undefined;
    };
    const prom = version('prometheus');
    if (prom) assert.equal(`prom/prometheus:v${prom}`, s.prometheus.image);
    const am = version('prometheus-alertmanager');
    if (am) assert.equal(`prom/alertmanager:v${am}`, s.alertmanager.image);
    // The dashboards are generated with the foundation SDK for this Grafana version.
    const sdk = JSON.parse(read('package.json')).devDependencies['@grafana/grafana-foundation-sdk'] as string;
    assert.ok(sdk.startsWith('11.6.0'), sdk);
  });

  test('bot and sidecar are built from this repository and share the ledger volume', () => {
    const { services, volumes } = config();
    const bot = services.bot;
    const sidecar = services.sidecar;
    for (const s of [bot, sidecar]) {
      assert.equal(s.build?.context, ROOT);
      assert.equal(s.environment?.EDGEWATCH_DB, '/data/edgewatch.db');
      assert.ok(
        volumesOf(s).some((v) => v.type === 'volume' && v.source === 'ledger' && v.target === '/data'),
        JSON.stringify(s.volumes),
      );
    }
    assert.deepEqual(bot.command, ['demo']);
    assert.deepEqual(sidecar.command, ['sidecar']);
    assert.equal(bot.environment?.EDGEWATCH_BOT_HOST, '0.0.0.0');
    assert.equal(sidecar.environment?.EDGEWATCH_HOST, '0.0.0.0');
    assert.equal(sidecar.environment?.EDGEWATCH_TOKEN, TOKEN);
    assert.ok(volumes && 'ledger' in volumes);
  });

  test('every service has a health check and publishes its port on loopback', () => {
    const ports: Record<string, string> = {
      bot: '9464',
      sidecar: '9465',
      prometheus: '9090',
      alertmanager: '9093',
      grafana: '3000',
    };
    for (const [name, s] of Object.entries(config().services)) {
      assert.ok((s.healthcheck?.test ?? []).length > 1, `${name} has no health check`);
      assert.ok(
        s.healthcheck!.test!.join(' ').includes(`127.0.0.1:${ports[name]}`),
        `${name} health check does not probe its port`,
      );
      assert.ok(
        (s.ports ?? []).some((p) => String(p).startsWith(`127.0.0.1:${ports[name]}:${ports[name]}`)),
        `${name} ports: ${JSON.stringify(s.ports)}`,
      );
    }
  });

  test('every file a container is told to read exists in the repository', () => {
    let checked = 0;
    for (const [name, s] of Object.entries(config().services)) {
      const binds = volumesOf(s).filter((v) => v.type === 'bind');
      for (const v of binds) {
        assert.ok(v.source.startsWith(ROOT + '/'), `${name}: bind source ${v.source} is outside the repository`);
        assert.ok(existsSync(v.source), `${name}: ${relative(ROOT, v.source)} does not exist`);
      }
      // Paths in the arguments and environment that fall inside a bind mount.
      const words = [...(s.entrypoint ?? []), ...(s.command ?? []), ...Object.values(s.environment ?? {})];
      for (const word of words) {
        const path = word.replace(/^--[\w.-]+=/, '');
        const bind = binds.find((b) => path.startsWith(b.target + '/'));
        if (!bind) continue;
        const host = join(bind.source, path.slice(bind.target.length));
        assert.ok(existsSync(host), `${name} reads ${path}, but ${relative(ROOT, host)} does not exist`);
        checked++;
      }
    }
    // prometheus.yml, alertmanager/entrypoint.sh, Grafana's home dashboard
    assert.ok(checked >= 3, `only ${checked} paths checked`);
  });

  test('Grafana loads the dashboards from where they are mounted', () => {
    const grafana = config().services.grafana;
    const provider = /^\s+path: (\S+)$/m.exec(read('grafana/provisioning/dashboards/edgewatch.yml'))?.[1];
    const mount = volumesOf(grafana).find((v) => v.type === 'bind' && v.source === join(ROOT, 'grafana/dashboards'));
    assert.equal(mount?.target, provider);
    for (const dir of ['datasources', 'dashboards']) {
      assert.ok(
        volumesOf(grafana).some(
          (v) =>
            v.source === join(ROOT, 'grafana/provisioning', dir) && v.target === `/etc/grafana/provisioning/${dir}`,
        ),
        `grafana/provisioning/${dir} not mounted`,
      );
    }
  });

  test('Alertmanager gets every variable its configuration template asks for', () => {
    const env = config().services.alertmanager.environment ?? {};
    const template = read('alertmanager/alertmanager.template.yml')
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n');
    const names = new Set([...template.matchAll(/\$\{([A-Z0-9_]+)(?::-[^}]*)?\}/g)].map((m) => m[1]));
    names.delete('EDGEWATCH_AM_TEMPLATES_DIR'); // set by entrypoint.sh itself
    assert.ok(names.size >= 4, [...names].join(','));
    for (const name of names) assert.ok(name in env, `${name} is not passed to the alertmanager service`);
  });

  test('the /metrics token file is mounted where the sidecar and Prometheus read it; by default the committed empty file (no token)', () => {
    const check = (services: Record<string, Service>, source: string) => {
      const sidecar = services.sidecar;
      const tokenPath = sidecar.environment?.EDGEWATCH_METRICS_TOKEN_FILE;
      assert.equal(tokenPath, '/run/secrets/edgewatch_metrics_token');
      assert.ok(
        volumesOf(sidecar).some(
          (v) => v.type === 'bind' && v.source === source && v.target === tokenPath && v.read_only,
        ),
        JSON.stringify(sidecar.volumes),
      );
      // prometheus.yml names the file relative to itself, under the ./prometheus mount.
      const relativePath = /credentials_file: '([^']+)'/.exec(read('prometheus/prometheus.yml'))?.[1];
      assert.equal(relativePath, 'metrics_token');
      assert.ok(
        volumesOf(services.prometheus).some(
          (v) =>
            v.type === 'bind' && v.source === source && v.target === `/etc/prometheus/${relativePath}` && v.read_only,
        ),
        JSON.stringify(services.prometheus.volumes),
      );
    };
    check(config().services, join(ROOT, 'prometheus/metrics_token'));
    assert.equal(read('prometheus/metrics_token'), '', 'the committed placeholder holds no token');
    const r = runConfig({ EDGEWATCH_TOKEN: TOKEN, EDGEWATCH_METRICS_TOKEN_FILE: '/srv/edgewatch/metrics_token' });
    assert.equal(r.status, 0, r.stderr);
    check((yamlToJson(compose.path!, r.stdout) as ComposeConfig).services, '/srv/edgewatch/metrics_token');
  });

  test('the hosts prometheus.yml scrapes and alerts are services of the stack', () => {
    const services = config().services;
    const targets = [...read('prometheus/prometheus.yml').matchAll(/'([a-z][\w-]*):(\d+)'/g)].map((m) => m[1]);
    assert.ok(targets.length >= 3, targets.join(','));
    for (const host of targets)
      if (host !== 'localhost') assert.ok(host in services, `prometheus.yml targets ${host}, which is no service`);
    assert.match(read('grafana/provisioning/datasources/prometheus.yml'), /url: http:\/\/prometheus:9090/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  test('builds on node:20-bookworm-slim with the compilers better-sqlite3 needs', () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    assert.ok(
      froms.length >= 1 && froms.every((f) => f === 'node:20-bookworm-slim' || f?.startsWith('node:20-bookworm-slim ')),
      froms.join(','),
    );
    assert.match(dockerfile, /apt-get install[^\n]*python3 make g\+\+/);
    assert.match(dockerfile, /npm ci/);
    assert.match(dockerfile, /npm run build/);
  });

  test('runs the package bin as a non-root user', () => {
    const bin = JSON.parse(read('package.json')).bin.edgewatch as string;
    assert.match(dockerfile, new RegExp(`^ENTRYPOINT \\["node", "${bin.replace(/\./g, '\\.')}"\\]$`, 'm'));
    const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    assert.ok(users.length > 0 && users.at(-1) !== 'root', `USER: ${users}`);
  });

  test('.dockerignore keeps local state and secrets out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.git', 'data', '.env', '*.db'])
      assert.ok(ignored.includes(entry), entry);
  });
});
