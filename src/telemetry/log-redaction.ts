/**
 * Paths pino replaces with "[Redacted]" in every line, on the main thread and in gateway workers.
 * Secrets never reach the log by design; these catch what a library puts on an object we log:
 * - `secret`, `key`, `authorization` fields of anything logged;
 * - `command.args` of an error: ioredis attaches the failed command with its arguments, and those of
 *   its handshake (HELLO 3 AUTH <user> <password>, retried at every reconnect) hold the Redis password.
 */
export const LOG_REDACT = ['*.secret', '*.key', '*.authorization', '*.command.args'];
