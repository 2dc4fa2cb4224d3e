import { AppError } from '../errors';
import type { Services } from '../services';
import { defineCommand, type Command } from './command';
import { compile, object, type Validated } from './schemas';

const validateCreateUser = compile(object({ name: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' } }, ['name']));
type CreateUser = Validated<typeof validateCreateUser>;

export function userCommands({ config, db, tokens }: Services): Command[] {
  return [
    defineCommand({
      name: 'users:create',
      auth: 'none',
      httpOnly: true,
      budget: 'ip',
      httpStatus: 201,
      validate: validateCreateUser,
      async run({ name }: CreateUser) {
        if (!config.allowSignup || !tokens.issuesUserTokens) throw new AppError('FORBIDDEN', 'signup is turned off');
        const user = await db.models.User.create({ name: name.trim() });
        return { user: { id: user.id, name: user.name }, token: tokens.signUser(user.id) };
      },
    }),
  ];
}
