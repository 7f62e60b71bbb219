import { describe, expect, it } from 'vitest';
import { isAllowedRedirect } from './redirect-urls';

const policy = { trustedDomains: ['https://app.example.com', 'https://*.example.org', 'http://localhost:3000'], nativeAppSchemes: ['myapp'] };

describe('redirect URL policy', () => {
  it.each([
    ['https://app.example.com/callback', 'callback', true],
    ['https://app.example.com:8443/callback', 'callback', false],
    ['http://app.example.com/callback', 'callback', false],
    ['https://evil.com/?https://app.example.com', 'callback', false],
    ['https://app.example.com.evil.com/', 'callback', false],
    ['https://a.example.org/x', 'callback', true],
    ['https://deep.a.example.org/x', 'callback', true],
    ['https://example.org/x', 'callback', false],
    ['https://notexample.org/x', 'callback', false],
    ['http://localhost:3000/auth', 'callback', true],
    ['http://localhost:3001/auth', 'callback', false],
    ['https://user:pw@app.example.com/', 'callback', false],
    ['myapp://oauth/callback', 'oauth-redirect', true],
    ['myapp://oauth/callback', 'callback', false],
    ['otherapp://oauth/callback', 'oauth-redirect', false],
    ['javascript:alert(1)', 'oauth-redirect', false],
    ['data:text/html,hi', 'oauth-redirect', false],
    ['not a url', 'callback', false],
  ] as const)('%s as %s → %s', (url, kind, allowed) => {
    expect(isAllowedRedirect(url, kind, policy)).toBe(allowed);
  });

  it('trusts nothing when the project lists nothing', () => {
    expect(isAllowedRedirect('https://app.example.com/', 'callback', { trustedDomains: [], nativeAppSchemes: [] })).toBe(false);
  });
});
