/**
 * Where the API may send a user back to. An http(s) URL must be on one of the project's trusted
 * domains (`https://app.example.com`, or `https://*.example.com` for its subdomains); a custom
 * scheme (`myapp://callback`) belongs to a native app and is accepted only as an OAuth redirect
 * URI, and only for the project's own schemes.
 */
export type RedirectKind = 'callback' | 'oauth-redirect';

export interface RedirectPolicy {
  trustedDomains: readonly string[];
  nativeAppSchemes: readonly string[];
}

function matchesTrustedDomain(url: URL, trusted: string): boolean {
  let pattern: URL;
  try {
    pattern = new URL(trusted.replace('*.', 'wildcard-marker.'));
  } catch {
    return false;
  }
  if (pattern.protocol !== url.protocol || pattern.port !== url.port) return false;
  if (trusted.includes('*.')) {
    const suffix = pattern.hostname.slice('wildcard-marker'.length);
    return url.hostname.endsWith(suffix) && url.hostname.length > suffix.length;
  }
  return pattern.hostname === url.hostname;
}

export function isAllowedRedirect(raw: string, kind: RedirectKind, policy: RedirectPolicy): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === 'https:' || url.protocol === 'http:') {
    return policy.trustedDomains.some((trusted) => matchesTrustedDomain(url, trusted));
  }
  if (kind !== 'oauth-redirect') return false;
  const scheme = url.protocol.slice(0, -1);
  // javascript:, data:, file: and the like are never an app's scheme.
  if (['javascript', 'data', 'file', 'blob', 'vbscript', 'about'].includes(scheme)) return false;
  return policy.nativeAppSchemes.includes(scheme);
}
