import { describeLocalServices, downLocalServices, localServicesStatus, upLocalServices } from './local-services';

/** `npm run infra:up | infra:down | infra:status` — the local services without Docker. */
async function main(command: string | undefined): Promise<void> {
  const services = describeLocalServices();
  switch (command) {
    case 'up': {
      await upLocalServices(services);
      console.log(`[infra] profile ${services.settings.profile}, data under ${services.settings.dataDir}`);
      console.log(`[infra] internal Postgres 127.0.0.1:${services.internal.port}, external Postgres 127.0.0.1:${services.external.port}, Kafka 127.0.0.1:${services.kafka.port}`);
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
