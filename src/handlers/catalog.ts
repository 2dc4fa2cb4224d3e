import { notFound } from '../errors';
import type { Services } from '../services';
import { defineCommand, type Command } from './command';
import { compile, id, object, validateEmpty, type Validated } from './schemas';

const validateConcertRef = compile(object({ concertId: id }, ['concertId']));
type ConcertRef = Validated<typeof validateConcertRef>;

export function catalogCommands({ catalog }: Services): Command[] {
  return [
    defineCommand({
      name: 'concerts:list',
      // A catalog is public: no token on HTTP (a socket has one from its handshake anyway).
      auth: 'none',
      validate: validateEmpty,
      run: async () => ({ concerts: await catalog.listConcerts() }),
    }),
    defineCommand({
      name: 'concert:dates',
      auth: 'none',
      validate: validateConcertRef,
      async run({ concertId }: ConcertRef) {
        const dates = await catalog.listDates(concertId);
        if (!dates) throw notFound('concert');
        return { dates };
      },
    }),
  ];
}
