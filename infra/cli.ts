import { describeLocalServices, downLocalServices, localServicesStatus, upLocalServices, wantsLocalPrometheus } from './local-services';
import { ensurePrometheus, prometheusUrl } from './prometheus';

/**
 * `npm run infra:up | infra:down | infra:status` — the local services without Docker; with
 * STACK_SYNC_PROMETHEUS=1, `up` starts a local Prometheus too (`down` stops it whenever it runs).
 */
async function main(command: string | undefined): Promise<void> {
  const services = describeLocalServices();
  switch (command) {
    case 'up': {
      await upLocalServices(services);
      console.log(`[infra] profile ${services.settings.profile}, data under ${services.settings.dataDir}`);
      console.log(`[infra] internal Postgres 127.0.0.1:${services.internal.port}, external Postgres 127.0.0.1:${services.external.port}, Kafka 127.0.0.1:${services.kafka.port}`);
      if (wantsLocalPrometheus()) {
        await ensurePrometheus(services.prometheus);
        console.log(`[infra] Prometheus ${prometheusUrl(services.prometheus)} scraping ${services.prometheus.targets.map((target) => target.address).join(', ')}`);
      }
      console.log('# the processes read these; `eval "$(npm run -s infra:up)"` exports them into your shell');
      for (const [name, value] of Object.entries(services.env)) console.log(`export ${name}='${value}'`);
      return;
    }
    case 'down': {
      const stopped = await downLocalServices(services);
      console.log(stopped.length > 0 ? `[infra] stopped ${stopped.join(', ')}` : '[infra] nothing was running');
      return;
    }
    case 'status': {
      console.log(JSON.stringify({ profile: services.settings.profile, ...(await localServicesStatus(services)) }, null, 2));
      return;
    }
    default:
      throw new Error(`usage: infra/cli.ts up|down|status (got ${command ?? 'nothing'})`);
  }
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
