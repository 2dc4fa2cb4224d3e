import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * deploy/ without a Docker engine: the compose file, HAProxy, Prometheus and
 * Grafana configuration parsed and checked against each other and against the
 * metrics the server exports (src/metrics.ts), so a renamed metric or a
 * missing instance fails here rather than on a dark dashboard.
 */
const root = path.resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const yaml = (file: string) => parse(read(file), { merge: true }) as Record<string, any>;

/** Every metric the server registers: tix_* from src/metrics.ts. Histograms add _bucket, _count and _sum. */
const exported = new Set([...read('src/metrics.ts').matchAll(/name: '(tix_\w+)'/g)].map((m) => m[1]!));
const histogram = (name: string) => name.replace(/_(bucket|count|sum)$/, '');
/** prom-client's default process metrics and Prometheus' own series that rules may use. */
const others = new Set(['up', 'nodejs_eventloop_lag_p99_seconds']);

function metricsIn(expr: string): string[] {
  const keywords = new Set(['sum', 'by', 'rate', 'increase', 'histogram_quantile', 'clamp_min', 'le', 'job', 'instance', 'outcome', 'command', 'side', 'pool', 'code']);
  return [...expr.replace(/\{[^}]*\}/g, '').replace(/"[^"]*"/g, '').matchAll(/\b([a-z_][a-z0-9_]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((w) => !keywords.has(w) && !w.startsWith('__'));
}

function known(metric: string): boolean {
  return others.has(metric) || exported.has(metric) || exported.has(histogram(metric));
}

const compose = yaml('deploy/compose.yaml');
const services = compose['services'] as Record<string, any>;
const apps = Object.keys(services).filter((name) => /^app\d+$/.test(name));

describe('deploy/compose.yaml', () => {
  it('runs PostgreSQL, Redis with AOF, three instances, a load balancer, Prometheus and Grafana', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'redis', 'haproxy', 'prometheus', 'grafana']));
    expect(apps).toHaveLength(3);
    const redis = (services['redis'].command as string[]).join(' ');
    expect(redis).toMatch(/--appendonly yes/);
    expect(redis).toMatch(/--appendfsync everysec/);
    for (const dep of ['postgres', 'redis']) expect(services[dep].healthcheck.test).toBeDefined();
  });

  it('builds every instance from the Dockerfile, on one PostgreSQL, one Redis, one JWT secret and its own INSTANCE_ID', () => {
    const ids = new Set<string>();
    for (const name of apps) {
      const app = services[name];
      expect(app.build).toEqual({ context: '..', dockerfile: 'Dockerfile' });
      expect(app.environment.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(app.environment.REDIS_URL).toBe('redis://redis:6379');
      expect(app.environment.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?/);
      ids.add(app.environment.INSTANCE_ID);
      expect(app.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    }
    expect([...ids].sort()).toEqual(apps.sort());
    // The Dockerfile the instances build: non-root, a health check, no npm in front of node.
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/^FROM node:24-trixie-slim$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/health/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/index\.js"\]$/m);
  });

  it('mounts only files that exist', () => {
    for (const service of Object.values(services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('.')) continue;
        expect(() => readdirSync(path.join(root, 'deploy', path.dirname(source)))).not.toThrow();
        expect(readdirSync(path.join(root, 'deploy', path.dirname(source)))).toContain(path.basename(source));
      }
    }
  });
});

describe('deploy/haproxy/haproxy.cfg', () => {
  const cfg = read('deploy/haproxy/haproxy.cfg');
  it('balances over every instance with a health check on /health and keeps WebSockets open', () => {
    expect(cfg).toMatch(/^\s*option httpchk GET \/health$/m);
    expect(cfg).toMatch(/^\s*timeout tunnel \S+$/m);
    expect(cfg).toMatch(/^\s*mode http$/m);
    const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+):3000 check/gm)].map((m) => m[2]);
    expect(servers.sort()).toEqual(apps.sort());
    expect(cfg).toMatch(/^\s*bind :3000$/m);
    expect(services['haproxy'].ports).toEqual(['3000:3000']);
  });

  it('passes HAProxy\'s own check (haproxy -c; .ci/run installs Debian\'s haproxy)', () => {
    let out: string;
    try {
      out = execFileSync('haproxy', ['-c', '-f', path.join(root, 'deploy/haproxy/haproxy.cfg')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      const e = err as { code?: string; stdout?: string; stderr?: string };
      throw new Error(e.code === 'ENOENT' ? 'haproxy is not installed: apt-get install haproxy' : `haproxy -c failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
    }
    expect(out).toMatch(/Configuration file is valid/);
  });
});

describe('deploy/prometheus', () => {
  it('scrapes /metrics on every instance', () => {
    const config = yaml('deploy/prometheus/prometheus.yml');
    const job = config['scrape_configs'].find((j: any) => j.job_name === 'tix');
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs[0].targets.sort()).toEqual(apps.map((a) => `${a}:3000`).sort());
    expect(config['rule_files']).toEqual(['/etc/prometheus/alerts.yml']);
  });

  it('has the alerts the runbook needs, each on metrics the server exports', () => {
    const rules = yaml('deploy/prometheus/alerts.yml')['groups'].flatMap((g: any) => g.rules);
    expect(rules.map((r: any) => r.alert)).toEqual(
      expect.arrayContaining(['InstanceDown', 'CommandErrorRate', 'CommandLatencyP99', 'EventLoopLag', 'HoldReleaseLate']),
    );
    for (const rule of rules) {
      expect(typeof rule.expr).toBe('string');
      expect(rule.annotations.summary).toBeTruthy();
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
      const unknown = metricsIn(rule.expr).filter((m) => !known(m));
      expect({ alert: rule.alert, unknown }).toEqual({ alert: rule.alert, unknown: [] });
    }
  });
});

describe('deploy/grafana', () => {
  const dashboard = JSON.parse(read('deploy/grafana/concert-tickets.json')) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };
  it('provisions the Prometheus data source and the dashboard folder', () => {
    const datasource = yaml('deploy/grafana/provisioning/datasources/prometheus.yaml')['datasources'][0];
    expect(datasource).toMatchObject({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090' });
    expect(yaml('deploy/grafana/provisioning/dashboards/tix.yaml')['providers'][0].options.path).toBe('/var/lib/grafana/dashboards');
  });

  it('charts every tix_* metric, and only metrics that exist', () => {
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr))));
    for (const metric of used) expect({ metric, known: known(metric) }).toEqual({ metric, known: true });
    const charted = new Set([...used].map(histogram));
    expect(exported.size).toBeGreaterThan(8);
    for (const metric of exported) expect({ metric, charted: charted.has(metric) }).toEqual({ metric, charted: true });
    const ids = dashboard.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
