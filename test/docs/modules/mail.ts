/**
 * The docs examples' mail API client (`import { mail } from './mail.js'`): a thin HTTP client of the
 * API at `MAIL_URL`, sending the idempotency key it is given.
 */

export const mail = {
  async send(
    message: { to: string; template: string },
    options: { idempotencyKey: string; signal: AbortSignal },
  ): Promise<{ id: string }> {
    const url = process.env['MAIL_URL'];
    if (url === undefined || url === '') throw new Error('MAIL_URL is not set');
    const response = await fetch(new URL('/messages', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': options.idempotencyKey },
      body: JSON.stringify(message),
      signal: options.signal,
    });
    if (!response.ok) throw new Error(`mail answered ${String(response.status)}`);
    return (await response.json()) as { id: string };
  },
};
