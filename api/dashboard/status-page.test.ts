import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PipelineContext } from '../../e2e/harness/pipeline-context';

/** The page's defences in its headers and its script's source; the browser test (e2e/status-page.test.ts) drives the rest. */
describe('status page: what the server sends', () => {
  it('serves the page with a strict CSP, no framing, no caching, no cookie, and no inline script', async () => {
    await using ctx = await PipelineContext.open();
    const response = await ctx.app.request('/dashboard');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = Object.fromEntries(
      (response.headers.get('content-security-policy') ?? '')
        .split(';')
        .map((directive) => directive.trim().split(/\s+/))
        .filter((parts) => parts[0])
        .map(([name, ...values]) => [name, values.join(' ')]),
    );
    expect(csp).toMatchObject({
      'default-src': "'none'",
      'script-src': "'self'",
      'style-src': "'self'",
      'connect-src': "'self'",
      'form-action': "'none'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      'require-trusted-types-for': "'script'",
    });
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('set-cookie')).toBeNull();
    const html = await response.text();
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('id="admin-key"');
    expect(html).toMatch(/<input[^>]*id="admin-key"[^>]*type="password"/);
    // Every script element has a source of its own: nothing inline that the CSP would have to allow.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![1]).toContain('src="/dashboard/status-page.js"');
    expect(scripts[0]![2]).toBe('');
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\sstyle=/i);
  });

  it('serves its script and stylesheet with their types, from the same origin', async () => {
    await using ctx = await PipelineContext.open();
    const script = await ctx.app.request('/dashboard/status-page.js');
    expect([script.status, script.headers.get('content-type'), script.headers.get('x-content-type-options')]).toEqual([200, 'text/javascript; charset=utf-8', 'nosniff']);
    expect(await script.text()).toContain('x-stack-super-secret-admin-key');
    const stylesheet = await ctx.app.request('/dashboard/status-page.css');
    expect([stylesheet.status, stylesheet.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    expect((await ctx.app.request('/dashboard/other.js')).status).toBe(404);
  });

  it('its script writes text only and keeps the key out of storage, cookies and URLs', () => {
    // Why: database ids and error texts come from outside; one HTML sink would be an XSS that
    // reads the admin key. The CSP's Trusted Types would make such a sink throw in the browser;
    // this keeps it from being written at all.
    const source = readFileSync(new URL('./client/status-page.js', import.meta.url), 'utf8');
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'localStorage', 'sessionStorage', 'document.cookie', 'indexedDB', 'location.hash', 'history.']) {
      expect(source, sink).not.toContain(sink);
    }
    expect(source).toContain("credentials: 'omit'");
  });
});
