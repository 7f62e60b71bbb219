/** @jsxImportSource hono/jsx */
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { ApiEnv } from '../api-env';
import { StatusPage, statusPageAssets } from './status-page';

// Read once at start-up: two small files that ship with the code, not a build output.
const script = readFileSync(new URL('./client/status-page.js', import.meta.url), 'utf8');
const stylesheet = readFileSync(new URL('./client/status-page.css', import.meta.url), 'utf8');

/**
 * The page's defences, as the attacker would try them:
 * - injected markup (a database id, an error text from someone's Postgres): the script writes text
 *   only (`textContent`), and with Trusted Types required any HTML sink throws instead of parsing;
 *   no inline script or style runs, only the two files served here;
 * - clickjacking: no framing at all (`frame-ancestors 'none'`, X-Frame-Options DENY);
 * - CSRF: the API authenticates with custom headers from the script, never with a cookie, so a
 *   foreign page cannot make a signed-in browser act; the page itself sets no cookie;
 * - the key leaking: kept in the tab's memory, never in a URL, storage or cookie; no Referer sent;
 *   the form cannot be submitted by the browser (`form-action 'none'`); responses are not cached.
 */
const pageHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    connectSrc: ["'self'"],
    imgSrc: ["'self'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    requireTrustedTypesFor: ["'script'"],
    trustedTypes: ["'none'"],
  },
  xFrameOptions: 'DENY',
  referrerPolicy: 'no-referrer',
  crossOriginResourcePolicy: 'same-origin',
});

/** The browser status page for a project's admins (README "Status page"), with its two assets. */
export const statusPageRoutes = new Hono<ApiEnv>()
  .use(pageHeaders)
  .use(async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  })
  .get('/', (c) => c.html(`<!doctype html>${(<StatusPage />).toString()}`))
  .get(statusPageAssets.script.replace('/dashboard', ''), (c) => c.body(script, 200, { 'content-type': 'text/javascript; charset=utf-8' }))
  .get(statusPageAssets.stylesheet.replace('/dashboard', ''), (c) => c.body(stylesheet, 200, { 'content-type': 'text/css; charset=utf-8' }));
