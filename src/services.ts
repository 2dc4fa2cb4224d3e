import type { Config } from './config';
import type { Logger } from './logger';
import type { Database } from './models/database';
import type { CatalogRepository } from './models/catalog-repository';
import type { Tokens } from './handlers/tokens';
import type { Metrics } from './handlers/metrics';

/** What command handlers depend on; built once by createApp(). */
export interface Services {
  config: Config;
  log: Logger;
  db: Database;
  tokens: Tokens;
  catalog: CatalogRepository;
  metrics: Metrics;
}
