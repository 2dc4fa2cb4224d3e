import { notFound } from '../errors';
import type { NewConcert } from '../models/catalog-repository';
import type { Services } from '../services';
import { defineCommand, type Command } from './command';
import { compile, id, object, validateEmpty, type Validated } from './schemas';

const validateConcertRef = compile(object({ concertId: id }, ['concertId']));
type ConcertRef = Validated<typeof validateConcertRef>;

const text = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;
const validateNewConcert = compile(
  object(
    {
      title: text,
      venue: text,
      dates: {
        type: 'array',
        minItems: 1,
        maxItems: 100,
        items: object(
          {
            startsAt: { type: 'string', format: 'date-time' },
            seats: object(
              {
                count: { type: 'integer', minimum: 1, maximum: 100_000 },
                price: { type: 'integer', minimum: 1, maximum: 100_000_000 },
                grade: { type: 'string', minLength: 1, maxLength: 20 },
              },
              ['count', 'price'],
            ),
          },
          ['startsAt', 'seats'],
        ),
      },
    },
    ['title', 'venue', 'dates'],
  ),
);

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
    defineCommand({
      name: 'admin:concerts:create',
      auth: 'admin',
      httpOnly: true,
      httpStatus: 201,
      validate: validateNewConcert,
      run: (input: NewConcert) => catalog.createConcert(input),
    }),
  ];
}
