import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { expectConverged } from './harness/oracle';
import { PartProcess } from './harness/part-process';
import { PipelineContext } from './harness/pipeline-context';
import { ownSecrets } from './harness/test-services';
import { PrivateBroker, unusedPort } from './harness/private-broker';

interface Health {
  status: string;
  startup?: { waiting_for?: string; last_error?: { code: string } };
}

async function health(part: PartProcess): Promise<{ httpStatus: number; body: Health } | undefined> {
  if (part.metricsUrl === undefined) return undefined;
  const response = await fetch(`${part.metricsUrl}/health`).catch(() => undefined);
  return response ? { httpStatus: response.status, body: (await response.json()) as Health } : undefined;
}

describe('starting before the dependencies are ready', () => {
  // Seen: a cdc process started while the broker was down exited after kafkajs's connection retries,
  // and in a kill/restart run the reader then stayed dead while 2,430 changes never arrived.
  it('cdc and sink started with the broker down wait for it (health: starting), and a change written meanwhile arrives', { timeout: 240_000 }, async () => {
    await using broker = await PrivateBroker.create();
    const ctx = await PipelineContext.open({ KAFKA_BROKERS: broker.brokers, ...ownSecrets() });
    const cdc = new PartProcess('cdc', ctx.config, undefined, [], { env: { METRICS_PORT: String(await unusedPort()) } });
    const sink = new PartProcess('sink', ctx.config, undefined, [], { env: { METRICS_PORT: String(await unusedPort()) } });
    try {
      const project = await ctx.createProject();
      const external = await ctx.createExternalDatabase();
      await ctx.setExternalDatabases(project, { main: external });

      const startedAt = Date.now();
      cdc.start();
      sink.start();
      for (const part of [cdc, sink]) {
        await waitFor('health to say the process waits for Kafka', async () => {
          const answer = await health(part);
          return answer?.httpStatus === 503 && answer.body.status === 'starting' && (answer.body.startup?.waiting_for ?? '').includes('Kafka');
        }, { timeoutMs: 60_000 });
      }
      const userId = await ctx.createUser(project, { display_name: 'written while the broker was down' });

      // The outage lasts 30 s: long past kafkajs's own connection retries (~10 s), which is when the
      // processes used to exit. Both must still be alive and waiting at every check.
      await waitFor('30 s of outage', async () => {
        expect(cdc.exitCode, cdc.output.slice(-2_000)).toBeNull();
        expect(sink.exitCode, sink.output.slice(-2_000)).toBeNull();
        return Date.now() - startedAt >= 30_000;
      }, { timeoutMs: 45_000, intervalMs: 1_000 });
      expect((await health(cdc))?.body.status).toBe('starting');

      await broker.start();
      const state = await expectConverged(ctx.internal, project.tenancyId, external, 90_000);
      expect(state.users.map((user) => user.id)).toContain(userId);
      for (const part of [cdc, sink]) {
        await waitFor('health to say ok once running', async () => (await health(part))?.httpStatus === 200, { timeoutMs: 30_000 });
        expect(part.exitCode).toBeNull();
      }
    } finally {
      await Promise.all([cdc.stop(), sink.stop()]);
      await ctx[Symbol.asyncDispose]();
    }
  });
});
