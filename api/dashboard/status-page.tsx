/** @jsxImportSource hono/jsx */
import type { FC } from 'hono/jsx';

/** Where the page's script and stylesheet are served: same origin, so the CSP can stay at 'self'. */
export const statusPageAssets = {
  script: '/dashboard/status-page.js',
  stylesheet: '/dashboard/status-page.css',
} as const;

/** How often the page asks the status API again, in ms (the issue asks for ≤ 2 s). */
export const refreshIntervalMs = 1_000;

/** How far back the lag chart reaches, in ms. */
export const chartWindowMs = 5 * 60_000;

const SignIn: FC = () => (
  // `method="post"` and the CSP's `form-action 'none'`: should the script not run, the browser
  // neither submits the form nor puts the admin key into a URL (history, logs, Referer).
  <form id="sign-in" class="card" method="post" autocomplete="off">
    <h2>Sign in</h2>
    <p class="hint">With the project's super secret admin key. It stays in this tab's memory only: reloading the page signs you out.</p>
    <label>
      Project id
      <input id="project-id" name="project-id" required maxlength={64} spellcheck={false} />
    </label>
    <label>
      Admin key
      <input id="admin-key" name="admin-key" type="password" required maxlength={256} autocomplete="off" />
    </label>
    <button type="submit" id="sign-in-button">Sign in</button>
    <p id="sign-in-error" class="error" role="alert" hidden></p>
  </form>
);

const Dashboard: FC = () => (
  <section id="dashboard" hidden>
    <div class="toolbar">
      <span id="project-label"></span>
      <span id="updated" class="hint" aria-live="polite"></span>
      <span id="stale" class="error" role="alert" hidden></span>
      <button type="button" id="sign-out">Sign out</button>
    </div>

    <div class="card">
      <h2>External databases</h2>
      <table id="databases">
        <thead>
          <tr>
            <th>Database</th>
            <th>Status</th>
            <th>Backlog</th>
            <th>Lag</th>
            <th>Applied offset</th>
            <th>Users</th>
            <th>Last error</th>
            <th>Rebuild</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
      <p id="no-databases" class="hint" hidden>
        No external database is configured: add one under <code>db_sync.external_databases</code> in the project config.
      </p>
    </div>

    <div class="card">
      <h2>Lag (up to the last {chartWindowMs / 60_000} minutes)</h2>
      <svg id="lag-chart" viewBox="0 0 720 200" role="img" aria-label="Lag of each external database over the last minutes"></svg>
      <ul id="lag-legend" class="legend"></ul>
    </div>

    <div class="card">
      <h2>Fusebox</h2>
      <p class="hint">
        Switched off, a database takes nothing and keeps its position; switched on again, it catches up. Global switches (<span id="global-switches"></span>) need the
        internal admin key.
      </p>
      <ul id="switches" class="switches"></ul>
      <button type="button" id="save-switches" disabled>Save</button>
      <span id="save-result" class="hint" role="status"></span>
    </div>

    <div class="card">
      <h2>Resnapshot</h2>
      <p class="hint">Publishes every user of the project again as snapshot events while streaming goes on; every external database upserts them.</p>
      <button type="button" id="resnapshot">Resnapshot</button>
      <progress id="resnapshot-progress" hidden></progress>
      <span id="resnapshot-state" class="hint" role="status"></span>
    </div>
  </section>
);

/**
 * The status page's HTML (rendered by hono/jsx, which escapes every value). It holds no data:
 * the script signs in with the key typed into it and draws from the status and fusebox APIs.
 */
export const StatusPage: FC = () => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="no-referrer" />
      <title>stack-sync status</title>
      <link rel="stylesheet" href={statusPageAssets.stylesheet} />
      <script src={statusPageAssets.script} defer data-refresh-ms={String(refreshIntervalMs)} data-chart-window-ms={String(chartWindowMs)}></script>
    </head>
    <body>
      <header>
        <h1>stack-sync</h1>
        <span class="hint">Sync status of your external databases</span>
      </header>
      <main>
        <SignIn />
        <Dashboard />
      </main>
    </body>
  </html>
);
