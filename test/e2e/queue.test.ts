import { queueExpirySuite } from './queue-expiry-suite';
import { queueSuite } from './queue-suite';

/** The waiting room on the default in-process store. */
describe('waiting room (in-process store)', () => {
  queueSuite(false);
  queueExpirySuite(false);
});
