// @ts-check
// The status page's script (api/dashboard/status-page.tsx renders the HTML it fills in). Plain
// JavaScript served as it is: no front-end build. It talks to the API with the admin key typed
// into the page, which it keeps in this closure only: no storage, no cookie, no URL.
// Everything it shows is written as text (`textContent`), never parsed as HTML: database ids and
// error texts come from outside (the CSP's Trusted Types would refuse an HTML sink anyway).
'use strict';

/**
 * The parts of the API's answers the page reads (api/routes/sync-status.ts, sync-operations.ts).
 * @typedef {{ state: string, records_done: number, records_total: number | null }} RebuildStatus
 * @typedef {{ id: string, status: string, state: string, paused_by: string | null, error: unknown,
 *   backlog: number | null, lag_seconds: number | null, last_synced_sequence_id: string | null,
 *   rebuild: RebuildStatus | null,
 *   users_table: { exists: boolean, total_rows: number, total_rows_estimated: boolean } | null }} DatabaseStatus
 * @typedef {{ generated_at_millis: number, external_databases: DatabaseStatus[] }} SyncStatus
 * @typedef {{ global: { cdc_enabled: boolean, sink_enabled: boolean }, project: { sink_enabled: boolean },
 *   external_databases: { id: string, enabled: boolean }[] }} Fusebox
 * @typedef {{ snapshot_id: string, state: string, rows_done: number, rows_total: number | null }} SnapshotProgress
 * @typedef {{ tr: HTMLElement, status: HTMLElement, backlog: HTMLElement, lag: HTMLElement, offset: HTMLElement,
 *   users: HTMLElement, error: HTMLElement, rebuild: HTMLElement, badge: HTMLElement, rebuildButton: HTMLButtonElement,
 *   progress: HTMLProgressElement, rebuildState: HTMLElement }} DatabaseRow
 */

(() => {
  const scriptElement = /** @type {HTMLScriptElement} */ (document.currentScript);
  const refreshMs = Number(scriptElement.dataset.refreshMs ?? '1000');
  const chartWindowMs = Number(scriptElement.dataset.chartWindowMs ?? '300000');
  const api = '/api/v1/internal/db-sync';
  const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

  /** @param {string} id */
  const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

  /** @type {{ projectId: string, adminKey: string } | null} */
  let credentials = null;
  /** @type {number | undefined} */
  let refreshTimer;
  /** Counts sign-ins: a refresh loop of an earlier one (its request in flight at sign-out) ends. */
  let session = 0;
  /** The switches as the server last said: key `project` or `db:<id>` → enabled. @type {Map<string, boolean>} */
  let serverSwitches = new Map();
  /** The switches the user changed and has not saved yet (same keys). @type {Map<string, boolean>} */
  const draftSwitches = new Map();
  /** Lag samples per database for the chart: [time ms, lag s or null when unknown]. @type {Map<string, [number, number | null][]>} */
  const lagHistory = new Map();
  /** @type {Map<string, DatabaseRow>} */
  const rows = new Map();
  /** A resnapshot this page started and follows: its id. @type {string | null} */
  let followedSnapshot = null;

  class ApiFailure extends Error {
    /** @param {number} status @param {string} code @param {string} message */
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /**
   * One API call as the project's admin. The key goes in a header only: custom headers are also
   * why another site cannot make this browser call the API on its own (no cookie is involved).
   * @param {string} method @param {string} path @param {unknown} [body]
   * @returns {Promise<unknown>}
   */
  async function call(method, path, body) {
    if (!credentials) throw new ApiFailure(0, 'SIGNED_OUT', 'Signed out.');
    /** @type {Record<string, string>} */
    const headers = {
      'x-stack-project-id': credentials.projectId,
      'x-stack-access-type': 'admin',
      'x-stack-super-secret-admin-key': credentials.adminKey,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store', redirect: 'error' });
    const text = await response.text();
    /** @type {{ code?: unknown, error?: unknown }} */
    let parsed = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw new ApiFailure(response.status, 'NOT_JSON', `The API answered ${response.status} without JSON.`);
    }
    if (!response.ok) throw new ApiFailure(response.status, String(parsed.code ?? 'HTTP_' + response.status), String(parsed.error ?? response.statusText));
    return parsed;
  }

  /** @param {string} tag @param {string} [className] @param {string} [text] */
  function element(tag, className, text) {
    const created = document.createElement(tag);
    if (className) created.className = className;
    if (text !== undefined) created.textContent = text;
    return created;
  }

  /** @param {number | null | undefined} seconds */
  function formatLag(seconds) {
    if (seconds === null || seconds === undefined) return '—';
    if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
    if (seconds < 120) return `${seconds.toFixed(1)} s`;
    return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  }

  /** An error as the status API reports it: `{code, message}` or anything else. @param {unknown} error */
  function formatError(error) {
    if (error === null || error === undefined) return '';
    if (typeof error === 'object') {
      const { code, message } = /** @type {{ code?: unknown, message?: unknown }} */ (error);
      if (code !== undefined || message !== undefined) return [code, message].filter((part) => part !== undefined && part !== null).map(String).join(': ');
    }
    return typeof error === 'string' ? error : JSON.stringify(error);
  }

  /**
   * The table row of a database, made once and then updated in place (focus survives refreshes).
   * @param {string} id @returns {DatabaseRow}
   */
  function rowOf(id) {
    const existing = rows.get(id);
    if (existing) return existing;
    const tr = element('tr');
    tr.dataset.database = id;
    const cells = {
      id: element('td', 'database-id', id),
      status: element('td', 'status'),
      backlog: element('td', 'number backlog'),
      lag: element('td', 'number lag'),
      offset: element('td', 'number offset'),
      users: element('td', 'number users'),
      error: element('td', 'last-error'),
      rebuild: element('td', 'rebuild'),
    };
    const badge = element('span', 'badge');
    cells.status.append(badge);
    const rebuildButton = /** @type {HTMLButtonElement} */ (element('button', 'rebuild-button', 'Rebuild'));
    rebuildButton.type = 'button';
    const progress = /** @type {HTMLProgressElement} */ (element('progress'));
    progress.hidden = true;
    const rebuildState = element('span', 'hint rebuild-state');
    cells.rebuild.append(rebuildButton, progress, rebuildState);
    rebuildButton.addEventListener('click', () => void rebuild(id, rebuildButton));
    tr.append(...Object.values(cells));
    /** @type {HTMLElement} */ (document.querySelector('#databases tbody')).append(tr);
    /** @type {DatabaseRow} */
    const parts = { tr, ...cells, badge, rebuildButton, progress, rebuildState };
    rows.set(id, parts);
    return parts;
  }

  /**
   * Rebuilding empties the database's mapped tables and refills them: the first click arms the
   * button, a second within 5 s confirms.
   * @param {string} id @param {HTMLButtonElement} button
   */
  async function rebuild(id, button) {
    if (button.dataset.armed !== 'true') {
      button.dataset.armed = 'true';
      button.textContent = 'Confirm rebuild';
      setTimeout(() => {
        button.dataset.armed = 'false';
        button.textContent = 'Rebuild';
      }, 5_000);
      return;
    }
    button.dataset.armed = 'false';
    button.textContent = 'Rebuild';
    button.disabled = true;
    try {
      await call('POST', `${api}/external-databases/${encodeURIComponent(id)}/rebuild`, {});
      await refresh();
    } catch (error) {
      rowOf(id).rebuildState.textContent = error instanceof Error ? error.message : String(error);
    } finally {
      button.disabled = false;
    }
  }

  /**
   * The users table as the sink last counted it in the database: `1,204`, `~3,100,000` (an estimate), `no table`.
   * @param {DatabaseStatus['users_table']} users
   */
  function formatUsers(users) {
    if (!users) return '—';
    if (!users.exists) return 'no table';
    return `${users.total_rows_estimated ? '~' : ''}${users.total_rows.toLocaleString('en-US')}`;
  }

  /** @param {DatabaseStatus} database */
  function renderDatabase(database) {
    const row = rowOf(database.id);
    row.badge.textContent = database.status;
    row.badge.className = `badge status-${String(database.status).replace(/[^a-z_]/g, '')}`;
    row.badge.title = database.paused_by ? `paused by the ${database.paused_by} switch; sink reports ${database.state}` : `sink reports ${database.state}`;
    row.backlog.textContent = database.backlog === null ? '—' : String(database.backlog);
    row.lag.textContent = formatLag(database.lag_seconds);
    row.offset.textContent = database.last_synced_sequence_id ?? '—';
    row.users.textContent = formatUsers(database.users_table);
    row.error.textContent = formatError(database.error);
    const rebuildRun = database.rebuild;
    if (rebuildRun) {
      const running = rebuildRun.state === 'pending' || rebuildRun.state === 'running';
      row.progress.hidden = !running;
      if (rebuildRun.records_total) {
        row.progress.max = rebuildRun.records_total;
        row.progress.value = rebuildRun.records_done;
      } else {
        row.progress.removeAttribute('value');
      }
      const total = rebuildRun.records_total === null ? '' : ` of ${rebuildRun.records_total}`;
      row.rebuildState.textContent = `${rebuildRun.state}: ${rebuildRun.records_done}${total} records`;
    }
  }

  /** @param {DatabaseStatus[]} databases @param {number} now */
  function recordLag(databases, now) {
    for (const database of databases) {
      const samples = lagHistory.get(database.id) ?? [];
      samples.push([now, database.lag_seconds]);
      while ((samples[0]?.[0] ?? now) < now - chartWindowMs) samples.shift();
      lagHistory.set(database.id, samples);
    }
  }

  /**
   * Draws one line per database, scaled to the highest lag seen. The time axis spans what the page
   * has seen, from one minute up to the whole window, so a page just opened is not a sliver.
   * @param {number} now
   */
  function drawChart(now) {
    const svg = byId('lag-chart');
    const ns = 'http://www.w3.org/2000/svg';
    const [width, height, left, bottom, top] = [720, 200, 56, 22, 8];
    let highest = 1;
    let oldest = now;
    for (const samples of lagHistory.values()) {
      for (const [t, lag] of samples) {
        if (lag !== null && lag > highest) highest = lag;
        if (t < oldest) oldest = t;
      }
    }
    const spanMs = Math.min(chartWindowMs, Math.max(60_000, Math.ceil((now - oldest) / 60_000) * 60_000));
    const scaleMax = niceCeiling(highest);
    /** @param {number} t */
    const x = (t) => left + ((t - (now - spanMs)) / spanMs) * (width - left - 4);
    /** @param {number} lag */
    const y = (lag) => top + (1 - lag / scaleMax) * (height - top - bottom);
    svg.replaceChildren();
    /** @param {string} tag @param {Record<string, string | number>} attributes @param {string} [text] */
    const draw = (tag, attributes, text) => {
      const shape = document.createElementNS(ns, tag);
      for (const [name, value] of Object.entries(attributes)) shape.setAttribute(name, String(value));
      if (text !== undefined) shape.textContent = text;
      svg.append(shape);
      return shape;
    };
    for (const fraction of [0, 0.5, 1]) {
      const lag = scaleMax * fraction;
      draw('line', { x1: left, x2: width - 4, y1: y(lag), y2: y(lag), class: 'grid' });
      draw('text', { x: left - 6, y: y(lag) + 4, 'text-anchor': 'end', class: 'axis' }, formatLag(lag));
    }
    const tickMs = spanMs <= 60_000 ? 15_000 : 60_000;
    for (let ago = spanMs; ago >= 0; ago -= tickMs) {
      const label = ago === 0 ? 'now' : ago < 60_000 ? `−${ago / 1000} s` : `−${ago / 60_000} min`;
      draw('text', { x: x(now - ago), y: height - 6, 'text-anchor': ago === spanMs ? 'start' : ago === 0 ? 'end' : 'middle', class: 'axis' }, label);
    }
    const legend = byId('lag-legend');
    legend.replaceChildren();
    [...lagHistory.keys()].sort().forEach((id, index) => {
      const color = palette[index % palette.length] ?? '#000';
      const points = [];
      for (const [t, lag] of lagHistory.get(id) ?? []) if (lag !== null) points.push(`${x(t).toFixed(1)},${y(lag).toFixed(1)}`);
      if (points.length > 0) draw('polyline', { points: points.join(' '), fill: 'none', stroke: color, 'stroke-width': 2 });
      const item = element('li', undefined, id);
      const swatch = element('span', 'swatch');
      swatch.style.backgroundColor = color;
      item.prepend(swatch);
      legend.append(item);
    });
  }

  /** 1, 2 or 5 times a power of ten, at least `value`. @param {number} value */
  function niceCeiling(value) {
    const power = 10 ** Math.floor(Math.log10(value));
    return ([1, 2, 5, 10].map((step) => step * power).find((candidate) => candidate >= value)) ?? value;
  }

  /** @param {Fusebox} fusebox */
  function renderSwitches(fusebox) {
    serverSwitches = new Map([['project', fusebox.project.sink_enabled]]);
    for (const database of fusebox.external_databases) serverSwitches.set(`db:${database.id}`, database.enabled);
    // A switch the server changed meanwhile to what the draft says is no longer a change.
    for (const [key, enabled] of draftSwitches) if (serverSwitches.get(key) === enabled || !serverSwitches.has(key)) draftSwitches.delete(key);
    byId('global-switches').textContent = `reader ${fusebox.global.cdc_enabled ? 'on' : 'off'}, sinks ${fusebox.global.sink_enabled ? 'on' : 'off'}`;
    const list = byId('switches');
    /** @type {[string, string][]} */
    const wanted = [['project', 'Sync of this project (every database)'], ...fusebox.external_databases.map((database) => /** @type {[string, string]} */ ([`db:${database.id}`, `Database ${database.id}`]))];
    const existing = new Map([...list.querySelectorAll('input')].map((input) => [input.dataset.switch, input]));
    for (const [key, label] of wanted) {
      let input = existing.get(key);
      if (!input) {
        const item = element('li');
        const labelElement = element('label', 'switch');
        input = /** @type {HTMLInputElement} */ (element('input'));
        input.type = 'checkbox';
        input.dataset.switch = key;
        const changed = input;
        changed.addEventListener('change', () => {
          if (changed.checked === serverSwitches.get(key)) draftSwitches.delete(key);
          else draftSwitches.set(key, changed.checked);
          updateSaveButton();
        });
        labelElement.append(input, element('span', undefined, label));
        item.append(labelElement);
        list.append(item);
      }
      input.checked = draftSwitches.get(key) ?? serverSwitches.get(key) ?? true;
      existing.delete(key);
    }
    for (const gone of existing.values()) gone.closest('li')?.remove();
    updateSaveButton();
  }

  function updateSaveButton() {
    /** @type {HTMLButtonElement} */ (byId('save-switches')).disabled = draftSwitches.size === 0;
  }

  async function saveSwitches() {
    const button = /** @type {HTMLButtonElement} */ (byId('save-switches'));
    const result = byId('save-result');
    button.disabled = true;
    result.textContent = 'Saving…';
    try {
      for (const [key, enabled] of [...draftSwitches]) {
        if (key === 'project') await call('POST', `${api}/fusebox`, { project: { sink_enabled: enabled } });
        else await call('POST', `${api}/external-databases/${encodeURIComponent(key.slice(3))}/${enabled ? 'resume' : 'pause'}`, {});
        draftSwitches.delete(key);
      }
      result.textContent = 'Saved.';
    } catch (error) {
      result.textContent = `Not saved: ${error instanceof Error ? error.message : String(error)}`;
    }
    await refresh();
  }

  async function resnapshot() {
    const button = /** @type {HTMLButtonElement} */ (byId('resnapshot'));
    button.disabled = true;
    try {
      const started = /** @type {{ snapshot_id: string }} */ (await call('POST', `${api}/resnapshot`, {}));
      followedSnapshot = String(started.snapshot_id);
      byId('resnapshot-state').textContent = 'requested';
      await followSnapshot();
    } catch (error) {
      byId('resnapshot-state').textContent = error instanceof Error ? error.message : String(error);
      button.disabled = false;
    }
  }

  async function followSnapshot() {
    if (followedSnapshot === null) return;
    const snapshot = /** @type {SnapshotProgress} */ (await call('GET', `${api}/resnapshot/${encodeURIComponent(followedSnapshot)}`));
    const progress = /** @type {HTMLProgressElement} */ (byId('resnapshot-progress'));
    const done = snapshot.state === 'done' || snapshot.state === 'failed';
    progress.hidden = done;
    if (snapshot.rows_total) {
      progress.max = snapshot.rows_total;
      progress.value = snapshot.rows_done;
    }
    const total = snapshot.rows_total === null ? '' : ` of ${snapshot.rows_total}`;
    byId('resnapshot-state').textContent = `${snapshot.state}: ${snapshot.rows_done}${total} rows`;
    if (done) {
      followedSnapshot = null;
      /** @type {HTMLButtonElement} */ (byId('resnapshot')).disabled = false;
    }
  }

  async function refresh() {
    // Answers that arrive after a sign-out (or a sign-in as another project) are not drawn.
    const mySession = session;
    try {
      const [status, fusebox] = /** @type {[SyncStatus, Fusebox]} */ (await Promise.all([call('GET', `${api}/status`), call('GET', `${api}/fusebox`)]));
      if (mySession !== session) return;
      const databases = status.external_databases;
      const ids = new Set(databases.map((database) => database.id));
      for (const [id, row] of rows) {
        if (ids.has(id)) continue;
        row.tr.remove();
        rows.delete(id);
        lagHistory.delete(id);
      }
      databases.forEach(renderDatabase);
      byId('no-databases').hidden = databases.length > 0;
      recordLag(databases, status.generated_at_millis);
      drawChart(status.generated_at_millis);
      renderSwitches(fusebox);
      await followSnapshot();
      byId('updated').textContent = `updated ${new Date(status.generated_at_millis).toLocaleTimeString()}`;
      byId('stale').hidden = true;
    } catch (error) {
      if (mySession !== session) return;
      if (error instanceof ApiFailure && (error.status === 401 || error.status === 403)) return signOut(error.message);
      const stale = byId('stale');
      stale.hidden = false;
      stale.textContent = `Not refreshed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** @param {number} mySession */
  function scheduleRefresh(mySession) {
    refreshTimer = window.setTimeout(async () => {
      if (mySession !== session) return;
      await refresh();
      if (credentials && mySession === session) scheduleRefresh(mySession);
    }, refreshMs);
  }

  /** @param {string} [reason] */
  function signOut(reason) {
    credentials = null;
    session += 1;
    window.clearTimeout(refreshTimer);
    rows.clear();
    lagHistory.clear();
    draftSwitches.clear();
    followedSnapshot = null;
    /** @type {HTMLElement} */ (document.querySelector('#databases tbody')).replaceChildren();
    byId('switches').replaceChildren();
    byId('dashboard').hidden = true;
    byId('sign-in').hidden = false;
    const message = byId('sign-in-error');
    message.hidden = !reason;
    message.textContent = reason ?? '';
  }

  byId('sign-in').addEventListener('submit', async (event) => {
    event.preventDefault();
    const projectInput = /** @type {HTMLInputElement} */ (byId('project-id'));
    const keyInput = /** @type {HTMLInputElement} */ (byId('admin-key'));
    const button = /** @type {HTMLButtonElement} */ (byId('sign-in-button'));
    credentials = { projectId: projectInput.value.trim(), adminKey: keyInput.value.trim() };
    button.disabled = true;
    try {
      await call('GET', `${api}/status`);
      keyInput.value = '';
      byId('sign-in').hidden = true;
      byId('sign-in-error').hidden = true;
      byId('dashboard').hidden = false;
      byId('project-label').textContent = `Project ${credentials.projectId}`;
      await refresh();
      scheduleRefresh(session);
    } catch (error) {
      signOut(error instanceof Error ? error.message : String(error));
    } finally {
      button.disabled = false;
    }
  });
  byId('sign-out').addEventListener('click', () => signOut());
  byId('save-switches').addEventListener('click', () => void saveSwitches());
  byId('resnapshot').addEventListener('click', () => void resnapshot());
})();
