import { queueExpirySuite } from './queue-expiry-suite';
import { queueSuite } from './queue-suite';

/** The waiting room on the Redis store. */
describe('waiting room (Redis store)', () => {
  queueSuite(true);
  queueExpirySuite(true);
});
