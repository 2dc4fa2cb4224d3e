import { CommandRunner, defineCommand, type Command } from '../../src/handlers/command';
import { ClientIp } from '../../src/handlers/client-ip';
import { HttpApi, ROUTES } from '../../src/handlers/http';
import { compile, object } from '../../src/handlers/schemas';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import type { Authenticator } from '../../src/handlers/auth';

const log = createLogger('silent');
const metrics = createMetrics();
const runner = new CommandRunner(log, metrics);
const authenticator: Authenticator = { authenticate: async () => ({ userId: 1 }) };
const validate = compile(object({}));

function commandsNamed(names: string[]): Map<string, Command> {
  return new Map(names.map((name) => [name, defineCommand({ name, auth: 'none', validate, run: async () => ({ name }) })]));
}

describe('the HTTP route table', () => {
  it('refuses to start when a route names a command nobody declared', () => {
    const commands = commandsNamed(['concerts:list']);
    expect(() => new HttpApi({ commands, runner, authenticator, log, metrics, raw: new Map(), clientIp: new ClientIp(undefined) }, [{ method: 'GET', path: '/concerts', command: 'concerts:lsit' }])).toThrow(
      'route GET /concerts names the unknown command concerts:lsit',
    );
  });

  it('builds when every route of the protocol names a declared command, and routes to it', async () => {
    const commands = commandsNamed([...new Set(ROUTES.map((r) => r.command))]);
    const api = new HttpApi({ commands, runner, authenticator, log, metrics, raw: new Map(), clientIp: new ClientIp(undefined) });
    const res = await api.handle({ method: 'GET', url: '/concerts', headers: {}, body: Buffer.alloc(0) });
    expect(res.status).toBe(200);
    expect(JSON.parse(String(res.body))).toEqual({ name: 'concerts:list' });
  });
});
