import { randomUUID } from 'node:crypto';
import { emailOutbox } from '../../schema/auth-tables';
import { logger } from '../../infra/runtime/log';
import type { Database } from '../api-env';

export interface EmailMessage {
  tenancyId: string;
  to: string;
  subject: string;
  body: string;
}

/** Sends the API's emails (sign-in codes). Pluggable: production sets an SMTP or provider sender. */
export interface EmailSender {
  send(message: EmailMessage): Promise<void>;
}

const log = logger('email');

/**
 * The development sender: every email is written to the "EmailOutbox" table (readable through
 * `GET /api/v1/internal/emails`) and logged; nothing leaves the machine.
 */
export class OutboxEmailSender implements EmailSender {
  constructor(private readonly db: Database) {}

  async send(message: EmailMessage): Promise<void> {
    await this.db.insert(emailOutbox).values({ id: randomUUID(), tenancyId: message.tenancyId, recipient: message.to, subject: message.subject, body: message.body });
    // Not the recipient: an address is personal data, and logs outlive the outbox.
    log.info('email written to the outbox', { tenancyId: message.tenancyId, subject: message.subject });
  }
}
