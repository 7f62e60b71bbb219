/** How contact channel values are stored, so that one mailbox is one value. */

export type ChannelType = 'EMAIL' | 'PHONE';

/** Emails are one mailbox whatever their letter case: stored and looked up trimmed and lower-cased. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A channel value as stored: emails normalised, phone numbers trimmed. */
export function normaliseChannelValue(type: ChannelType, value: string): string {
  return type === 'EMAIL' ? normaliseEmail(value) : value.trim();
}
