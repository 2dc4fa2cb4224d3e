import pino from 'pino';

export type Logger = pino.Logger;

/** Tokens and whole payloads never reach the logs: redact the places they could appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: ['token', 'queueToken', 'auth.token', 'headers.authorization', 'headers["queue-token"]'],
  });
}
