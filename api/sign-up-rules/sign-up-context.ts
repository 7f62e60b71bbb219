/**
 * What a sign-up rule's condition sees (DESIGN.md "Sign-up rules (CEL)"), and which account
 * creations are sign-ups at all. Pure: the routes describe what they are about to do, this decides.
 */

export const signUpAuthMethods = ['password', 'otp', 'oauth'] as const;
export type SignUpAuthMethod = (typeof signUpAuthMethods)[number];

/** The CEL variables, by the names conditions use. */
export interface SignUpRuleContext {
  /** Trimmed and lower-cased; '' when the sign-up carries no address. */
  email: string;
  /** After the last `@` of `email`; '' without one. */
  emailDomain: string;
  /** An anonymous upgrade has the method it upgrades with. */
  authMethod: SignUpAuthMethod;
  /** The OAuth provider (`apple`); '' unless `authMethod` is `oauth`. */
  oauthProvider: string;
}

export interface SignUpFacts {
  authMethod: SignUpAuthMethod;
  email?: string | undefined;
  oauthProvider?: string | undefined;
}

/** How an account comes to be, as the route that creates it sees it. */
export type AccountCreation =
  /** A new user signs up (password, a code for a new address, a new OAuth identity). */
  | ({ kind: 'new-user' } & SignUpFacts)
  /** An anonymous user gains credentials and keeps its id. */
  | ({ kind: 'anonymous-upgrade' } & SignUpFacts)
  /** A user without credentials (`POST /auth/anonymous/sign-up`): rules wait for its upgrade. */
  | { kind: 'anonymous-user' }
  /** Created with a server or admin key: the project itself vouches for it. */
  | { kind: 'server-created-user' }
  /** An existing user signs in (or links an identity to itself): nothing is signed up. */
  | { kind: 'existing-user-sign-in' };

export function signUpRuleContext(facts: SignUpFacts): SignUpRuleContext {
  const email = (facts.email ?? '').trim().toLowerCase();
  const at = email.lastIndexOf('@');
  return {
    email,
    emailDomain: at >= 0 ? email.slice(at + 1) : '',
    authMethod: facts.authMethod,
    oauthProvider: facts.authMethod === 'oauth' ? (facts.oauthProvider ?? '').trim().toLowerCase() : '',
  };
}

/** The context rules run on, or undefined when this account creation is not one they judge. */
export function signUpRuleContextFor(creation: AccountCreation): SignUpRuleContext | undefined {
  switch (creation.kind) {
    case 'new-user':
    case 'anonymous-upgrade':
      return signUpRuleContext(creation);
    case 'anonymous-user':
    case 'server-created-user':
    case 'existing-user-sign-in':
      return undefined;
  }
}
