import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig } from '../../schema/env-config';
import { OpsApiClient, OpsError } from './ops-api-client';
import { watchProgress } from './progress-watch';
import { databaseTable, globalReport, globalStatusSchema, projectStatusSchema } from './status-table';

const usage = `usage: npm run ops -- <command> [options]

  status [--all]                     the project's external databases (--all: the whole deployment)
  pause|resume global [cdc|sink]     the global switches (both when none is named; internal admin key)
  pause|resume project               every external database of the project
  pause|resume database <id>         one external database (it keeps its position)
  rebuild <database>                 empty and refill one external database, with a live progress bar
  resnapshot <tenancyId|all>         re-publish a tenancy's rows (all: every tenancy), with a progress bar

options (or environment):
  --api-url <url>                    STACK_API_URL (default http://127.0.0.1:8102)
  --project-id <id>                  STACK_PROJECT_ID
  --admin-key <key>                  STACK_SUPER_SECRET_ADMIN_KEY
  --internal-admin-key <key>         STACK_INTERNAL_ADMIN_KEY
  --no-wait                          rebuild/resnapshot: start it and return`;

class UsageError extends Error {}

const fuseboxAnswer = z.object({ global: z.object({ cdc_enabled: z.boolean(), sink_enabled: z.boolean() }) }).passthrough();
const databaseSwitchAnswer = z.object({ id: z.string(), enabled: z.boolean(), paused_by: z.string().nullable() });
const rebuildStarted = z.object({ id: z.string(), rebuild_id: z.string(), state: z.string() });
const rebuildProgress = z.object({ state: z.string(), records_done: z.number(), records_total: z.number().nullable() });
const snapshotStarted = z.object({ snapshot_id: z.string() });
const snapshotProgress = z.object({ state: z.string(), rows_done: z.number(), rows_total: z.number() });

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      all: { type: 'boolean', default: false },
      'api-url': { type: 'string' },
      'project-id': { type: 'string' },
      'admin-key': { type: 'string' },
      'internal-admin-key': { type: 'string' },
      'no-wait': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    console.log(usage);
    if (command === undefined && !values.help) throw new UsageError('no command given');
    return;
  }
  const env = loadConfig();
  const client = new OpsApiClient({
    apiUrl: values['api-url'] ?? env.STACK_API_URL,
    projectId: values['project-id'] ?? env.STACK_PROJECT_ID,
    adminKey: values['admin-key'] ?? env.STACK_SUPER_SECRET_ADMIN_KEY,
    internalAdminKey: values['internal-admin-key'] ?? env.STACK_INTERNAL_ADMIN_KEY,
  });
  const colors = process.stdout.isTTY === true;
  const wait = !values['no-wait'];

  switch (command) {
    case 'status': {
      if (values.all) console.log(globalReport(await client.asInternal('GET', '/internal/db-sync/status?scope=all', globalStatusSchema), colors));
      else {
        const status = await client.asProject('GET', '/internal/db-sync/status', projectStatusSchema);
        const switches = status.fusebox;
        console.log(`tenancy ${status.tenancy_id}; fusebox: cdc ${switches.cdc_enabled ? 'on' : 'OFF'}, sink ${switches.sink_enabled ? 'on' : 'OFF'}, project sink ${switches.project_sink_enabled ? 'on' : 'OFF'}`);
        if (status.topic) console.log(`topic ${status.topic.name}, high offset ${status.topic.high_offset ?? '? (no sink has read it yet)'}`);
        console.log(status.external_databases.length === 0 ? 'no external databases configured' : databaseTable(status.external_databases.map((database) => ({ database })), colors));
      }
      return;
    }
    case 'pause':
    case 'resume': {
      const enabled = command === 'resume';
      const [scope, name] = rest;
      if (scope === 'global') {
        if (name !== undefined && name !== 'cdc' && name !== 'sink') throw new UsageError(`global switches are cdc and sink, not ${JSON.stringify(name)}`);
        const global = { ...(name !== 'sink' ? { cdc_enabled: enabled } : {}), ...(name !== 'cdc' ? { sink_enabled: enabled } : {}) };
        const answer = await client.asInternal('POST', '/internal/db-sync/fusebox', fuseboxAnswer, { global });
        console.log(`global switches: cdc ${answer.global.cdc_enabled ? 'on' : 'OFF'}, sink ${answer.global.sink_enabled ? 'on' : 'OFF'} (every process obeys within about a second)`);
      } else if (scope === 'project') {
        await client.asProject('POST', '/internal/db-sync/fusebox', fuseboxAnswer, { project: { sink_enabled: enabled } });
        console.log(`project sync ${enabled ? 'resumed' : 'paused'}`);
      } else if (scope === 'database') {
        if (!name) throw new UsageError(`${command} database needs the external database's id`);
        const answer = await client.asProject('POST', `/internal/db-sync/external-databases/${encodeURIComponent(name)}/${command}`, databaseSwitchAnswer, {});
        console.log(`external database ${answer.id} ${enabled ? 'resumed' : 'paused'}${answer.paused_by && enabled ? ` (still paused by the ${answer.paused_by} switch)` : ''}`);
      } else throw new UsageError(`${command} what? global, project or database <id>`);
      return;
    }
    case 'rebuild': {
      const [database] = rest;
      if (!database) throw new UsageError('rebuild needs the external database’s id');
      const path = `/internal/db-sync/external-databases/${encodeURIComponent(database)}/rebuild`;
      const started = await client.asProject('POST', path, rebuildStarted, {});
      console.log(`rebuild ${started.rebuild_id} of ${started.id}: ${started.state}`);
      if (!wait) return;
      await watchProgress(`rebuild ${database}`, async () => {
        const progress = await client.asProject('GET', path, rebuildProgress);
        return { done: progress.records_done, total: progress.records_total, finished: progress.state === 'done' };
      });
      console.log(`rebuild of ${database} done`);
      return;
    }
    case 'resnapshot': {
      const [target] = rest;
      if (!target) throw new UsageError('resnapshot needs a tenancy id or all');
      const internal = target === 'all' || (values['internal-admin-key'] ?? env.STACK_INTERNAL_ADMIN_KEY) !== undefined && (values['project-id'] ?? env.STACK_PROJECT_ID) === undefined;
      const send = <Schema extends z.ZodType>(method: string, path: string, schema: Schema, body?: unknown) =>
        internal ? client.asInternal(method, path, schema, body) : client.asProject(method, path, schema, body);
      const started = await send('POST', '/internal/db-sync/resnapshot', snapshotStarted, { tenancy_id: target });
      console.log(`snapshot ${started.snapshot_id} requested for ${target === 'all' ? 'every tenancy' : `tenancy ${target}`}`);
      if (!wait) return;
      await watchProgress('resnapshot', async () => {
        const progress = await send('GET', `/internal/db-sync/resnapshot/${started.snapshot_id}`, snapshotProgress);
        return { done: progress.rows_done, total: progress.rows_total, finished: progress.state === 'done' };
      });
      console.log(`snapshot ${started.snapshot_id} done`);
      return;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    console.error(`ops: ${error.message}\n\n${usage}`);
    process.exit(2);
  }
  if (error instanceof OpsError) console.error(`ops: ${error.code}: ${error.message}`);
  else console.error(`ops: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
