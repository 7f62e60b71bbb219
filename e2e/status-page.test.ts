import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ensureChromium } from '../infra/headless-browser';
import { waitFor } from '../infra/wait-for';
import { actualState, expectConverged } from './harness/oracle';
import { PipelineContext, pollExternal, type TestProject } from './harness/pipeline-context';

/** Screenshots of each step, kept for a person to look at (git-ignored). */
const artefactsDir = path.resolve('test-results/status-page');

interface DatabaseStatus {
  id: string;
  status: string;
  state: string;
  backlog: number | null;
}

async function statusOf(ctx: PipelineContext, project: TestProject, id: string): Promise<DatabaseStatus | undefined> {
  const response = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/db-sync/status');
  return (response.body.external_databases as DatabaseStatus[]).find((database) => database.id === id);
}

/** The text of a cell of the database's row in the page. */
async function cell(page: Page, databaseId: string, column: string): Promise<string> {
  return (await page.locator(`tr[data-database="${databaseId}"] td.${column}`).textContent()) ?? '';
}

async function listen(ctx: PipelineContext): Promise<{ url: string; server: ServerType }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: ctx.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ url: `http://127.0.0.1:${info.port}`, server }));
  });
}

describe('the status page in a real browser', () => {
  it('signs in with the admin key, shows the database, pauses it (nothing arrives), resumes it (it catches up)', async () => {
    mkdirSync(artefactsDir, { recursive: true });
    const launch = ensureChromium();
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const [external, neighbour] = [await ctx.createExternalDatabase(), await ctx.createExternalDatabase()];
    await ctx.setExternalDatabases(project, { main: external, reports: neighbour });
    await ctx.createUser(project, { display_name: 'before' });
    await expectConverged(ctx.internal, project.tenancyId, external);
    await expectConverged(ctx.internal, project.tenancyId, neighbour);

    const { url, server } = await listen(ctx);
    const browser = await chromium.launch({ executablePath: launch.executablePath, args: launch.args });
    // Anything the page did wrong (a script error, a request the CSP refused) fails the test.
    const pageProblems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      page.on('pageerror', (error) => pageProblems.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') pageProblems.push(`console: ${message.text()}`);
      });
      await page.goto(`${url}/dashboard`);

      // A wrong key is refused on the page, with the API's message.
      await page.fill('#project-id', project.id);
      await page.fill('#admin-key', 'wrong-key');
      await page.click('#sign-in-button');
      await page.locator('#sign-in-error').waitFor({ state: 'visible' });
      expect(await page.locator('#sign-in-error').textContent()).not.toBe('');
      pageProblems.length = 0; // the browser logs the refused request (401) as a console error: expected here
      expect(page.url()).toBe(`${url}/dashboard`);

      await page.fill('#admin-key', project.superSecretAdminKey);
      await page.click('#sign-in-button');
      await page.locator('tr[data-database="main"]').waitFor();
      // Signed in, the form is gone (it stayed visible under the dashboard before a CSS rule let
      // `hidden` win); the key is gone from it too, and never reached the URL.
      expect(await page.locator('#sign-in').isHidden()).toBe(true);
      expect(await page.inputValue('#admin-key')).toBe('');
      expect(page.url()).toBe(`${url}/dashboard`);
      for (const id of ['main', 'reports']) {
        await waitFor(`the page to show ${id} ok and caught up`, async () => (await cell(page, id, 'status')) === 'ok' && (await cell(page, id, 'backlog')) === '0', { timeoutMs: 10_000, intervalMs: 100 });
      }
      expect(await page.locator('#save-switches').isDisabled()).toBe(true);
      await page.screenshot({ path: path.join(artefactsDir, '1-signed-in.png'), fullPage: true });

      // Pause main in the page: Save is enabled only once a switch differs from the server's.
      const mainSwitch = page.locator('input[data-switch="db:main"]');
      expect(await mainSwitch.isChecked()).toBe(true);
      await mainSwitch.uncheck();
      expect(await page.locator('#save-switches').isEnabled()).toBe(true);
      await mainSwitch.check();
      expect(await page.locator('#save-switches').isDisabled()).toBe(true);
      await mainSwitch.uncheck();
      await page.click('#save-switches');
      await waitFor('the status API to report main paused, and the sink to have obeyed', async () => {
        const status = await statusOf(ctx, project, 'main');
        return status?.status === 'paused' && status.state === 'paused';
      }, { timeoutMs: 10_000, intervalMs: 100 });
      const before = await actualState(external);

      // A change written while paused reaches the topic (the backlog counts it) and the neighbour,
      // but not the paused database.
      await ctx.createUser(project, { display_name: 'while paused' });
      await pollExternal(neighbour, `SELECT 1 FROM users WHERE display_name = 'while paused'`, (found) => found.length === 1, 10_000);
      expect(await cell(page, 'reports', 'status')).toBe('ok');
      await waitFor('the paused database’s backlog to count the change', async () => (await statusOf(ctx, project, 'main'))?.backlog === 1, { timeoutMs: 10_000, intervalMs: 100 });
      await waitFor('the page to show the backlog', async () => (await cell(page, 'main', 'status')) === 'paused' && (await cell(page, 'main', 'backlog')) === '1', { timeoutMs: 5_000, intervalMs: 100 });
      expect(await actualState(external)).toEqual(before);
      expect((await pollExternal(external, `SELECT 1 FROM users WHERE display_name = 'while paused'`, () => true)).length).toBe(0);
      expect(await page.locator('#save-switches').isDisabled()).toBe(true);
      await page.screenshot({ path: path.join(artefactsDir, '2-paused.png'), fullPage: true });

      // Resume in the page: the database catches up from its own position.
      await mainSwitch.check();
      await page.click('#save-switches');
      await expectConverged(ctx.internal, project.tenancyId, external, 20_000);
      await waitFor('the page to show main ok with nothing left', async () => (await cell(page, 'main', 'status')) === 'ok' && (await cell(page, 'main', 'backlog')) === '0', { timeoutMs: 10_000, intervalMs: 100 });
      // The users column is the sink's count in the database itself.
      const usersNow = (await actualState(external)).users.length.toLocaleString('en-US');
      await waitFor('the page to show the users counted in main', async () => (await cell(page, 'main', 'users')) === usersNow, { timeoutMs: 15_000, intervalMs: 200 });
      await page.screenshot({ path: path.join(artefactsDir, '3-resumed.png'), fullPage: true });

      // Rebuild (two clicks: it empties the database first) and resnapshot, each with its progress.
      await page.click('tr[data-database="main"] .rebuild-button');
      await page.click('tr[data-database="main"] .rebuild-button');
      await waitFor('the page to show the rebuild done', async () => ((await page.locator('tr[data-database="main"] .rebuild-state').textContent()) ?? '').startsWith('done'), { timeoutMs: 30_000, intervalMs: 100 });
      await page.click('#resnapshot');
      await waitFor('the page to show the resnapshot done', async () => ((await page.locator('#resnapshot-state').textContent()) ?? '').startsWith('done'), { timeoutMs: 30_000, intervalMs: 100 });
      await expectConverged(ctx.internal, project.tenancyId, external, 20_000);
      await page.screenshot({ path: path.join(artefactsDir, '4-rebuilt-and-resnapshot.png'), fullPage: true });

      // Sign out forgets the key: the dashboard is gone and the form is back, empty.
      await page.click('#sign-out');
      expect(await page.locator('#sign-in').isVisible()).toBe(true);
      expect(await page.locator('#dashboard').isHidden()).toBe(true);
      expect(pageProblems).toEqual([]);
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('shows hostile database ids and error texts as text: nothing they hold runs', async () => {
    // Why: an error text comes from the tenant's own Postgres (or anything in between), and a
    // database id from the config. Rendered as HTML, either would run script next to the admin
    // key. The API is answered here by the test so that the strings can be anything at all.
    const launch = ensureChromium();
    await using ctx = await PipelineContext.open();
    const { url, server } = await listen(ctx);
    const browser = await chromium.launch({ executablePath: launch.executablePath, args: launch.args });
    const hostile = '<img src=x onerror="window.__owned=1"><script>window.__owned=2</script>';
    const status = {
      generated_at_millis: Date.now(),
      external_databases: [{ id: 'evil', status: 'error"><b>', state: 'error', paused_by: null, error: { code: 'SINK_APPLY_FAILED', message: hostile }, backlog: 3, lag_seconds: 12.5, last_synced_sequence_id: hostile, rebuild: { state: hostile, records_done: 1, records_total: 2 } }],
    };
    const fusebox = { global: { cdc_enabled: true, sink_enabled: true }, project: { sink_enabled: true }, external_databases: [{ id: 'evil', enabled: true }] };
    const pageProblems: string[] = [];
    try {
      const page = await browser.newPage();
      page.on('pageerror', (error) => pageProblems.push(error.message));
      page.on('dialog', (dialog) => pageProblems.push(`dialog: ${dialog.message()}`));
      await page.route('**/api/v1/internal/db-sync/**', (route) =>
        route.fulfill({ contentType: 'application/json', body: JSON.stringify(route.request().url().endsWith('/fusebox') ? fusebox : status) }),
      );
      await page.goto(`${url}/dashboard`);
      await page.fill('#project-id', 'p');
      await page.fill('#admin-key', 'k');
      await page.click('#sign-in-button');
      await page.locator('tr[data-database="evil"]').waitFor();
      expect(await cell(page, 'evil', 'last-error')).toBe(`SINK_APPLY_FAILED: ${hostile}`);
      expect(await cell(page, 'evil', 'offset')).toBe(hostile);
      expect(await page.locator('#databases img, #databases script, #databases b').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as { __owned?: number }).__owned)).toBeUndefined();
      expect(pageProblems).toEqual([]);
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
