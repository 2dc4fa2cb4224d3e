import type { Config } from './config';
import type { Logger } from './logger';
import type { Database } from './models/database';
import type { CatalogRepository } from './models/catalog-repository';
import type { Tokens } from './tokens';
import type { Metrics } from './metrics';

/** What command handlers depend on; built once by createApp(). */
export interface Services {
  config: Config;
  log: Logger;
  db: Database;
  tokens: Tokens;
  catalog: CatalogRepository;
  metrics: Metrics;
}
