import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../support/cluster';

const ROOT = path.resolve(__dirname, '..', '..');

interface Started {
  child: ChildProcess;
  output: () => string;
  readyMs: number;
}

async function npmStart(env: Record<string, string>, port: number): Promise<Started> {
  const started = Date.now();
  const env_: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete env_['DATABASE_URL'];
  delete env_['REDIS_URL'];
  // Its own process group, like a terminal's foreground job: Ctrl-C reaches npm, node and postgres.
  const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: env_, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}: ${out.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`no healthy server within 90 s: ${out.slice(-2000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.status === 200 && ((await res.json()) as { status: string }).status === 'ok') break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => out, readyMs: Date.now() - started };
}

/** Ctrl-C: SIGINT to the whole group; resolves once npm and the server have exited. */
async function stop(child: ChildProcess, dataDir: string): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.kill(-(child.pid as number), 'SIGINT');
  const code = await exited;
  const deadline = Date.now() + 15_000;
  while (serverProcessesFor(dataDir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return code;
}

function postgresProcessesFor(dataDir: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes(dataDir) && line.includes('postgres'));
}

function serverProcessesFor(dataDir: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes(dataDir) || line.includes(`DATA_DIR=${dataDir}`));
}

describe('npm start with nothing configured', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tix-start-'));
  // The embedded PostgreSQL runs as the `postgres` user when the tests run as root.
  chmodSync(dataDir, 0o755);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts an embedded PostgreSQL, answers /health, stops cleanly, and reuses ./data on the next start', async () => {
    const port = await freePort();
    const env = { PORT: String(port), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: 'info' };

    const first = await npmStart(env, port);
    expect(first.output()).toMatch(/embedded PostgreSQL started/);
    expect(first.output()).toMatch(/demo concerts seeded/);
    expect(first.output()).toMatch(new RegExp(`listening on http://localhost:${port} \\(engine: `));
    const signup = await fetch(`http://127.0.0.1:${port}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'newcomer', password: 'a newcomer’s password' }) });
    const { token } = (await signup.json()) as { token: string };
    const concerts = (await (await fetch(`http://127.0.0.1:${port}/concerts`, { headers: { authorization: `Bearer ${token}` } })).json()) as { concerts: unknown[] };
    expect(concerts.concerts.length).toBeGreaterThanOrEqual(3);
    await stop(first.child, dataDir);
    expect(first.output()).toMatch(/"msg":"stopped"/);
    expect(postgresProcessesFor(dataDir)).toEqual([]);

    const second = await npmStart(env, port);
    expect(second.output()).not.toMatch(/demo concerts seeded/);
    // dist/ is current after the first start: the second goes straight to the server (no tsc --verbose output).
    expect(second.output()).not.toMatch(/Projects in this build|Building project/);
    // The token survives: the generated JWT secret is kept under DATA_DIR.
    const again = await fetch(`http://127.0.0.1:${port}/concerts`, { headers: { authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);
    await stop(second.child, dataDir);
    expect(second.output()).toMatch(/"msg":"stopped"/);
    expect(postgresProcessesFor(dataDir)).toEqual([]);
    process.stdout.write(`cold start: first ${first.readyMs} ms, second ${second.readyMs} ms (npm start: build check, embedded PostgreSQL, server)\n`);
  }, 240_000);
});
