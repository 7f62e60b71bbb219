import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// kafkajs's transaction manager, driven through a stand-in cluster: what is under test is which
// broker each step of a Kafka transaction goes to, and how often the coordinators are looked up.
const require = createRequire(import.meta.url);
interface EosManager {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  addPartitionsToTransaction(topicData: { topic: string; partitions: { partition: number }[] }[]): Promise<void>;
  sendOffsets(options: { consumerGroupId: string; topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<void>;
  commit(): Promise<void>;
}
type CreateEosManager = (options: { logger: unknown; cluster: unknown; transactional: boolean; transactionalId: string }) => EosManager;
const createEosManager = require('kafkajs/src/producer/eosManager/index.js') as CreateEosManager;

class StandInBroker {
  connected = true;
  readonly calls: string[] = [];
  failNext: string | undefined;
  failWith = 'NOT_COORDINATOR_FOR_GROUP';
  constructor(readonly nodeId: number) {}
  isConnected(): boolean {
    return this.connected;
  }
  async #answer<T>(call: string, value: T): Promise<T> {
    this.calls.push(call);
    if (this.failNext === call) {
      this.failNext = undefined;
      throw Object.assign(new Error(`refused: ${this.failWith}`), { type: this.failWith });
    }
    return value;
  }
  initProducerId() {
    return this.#answer('InitProducerId', { producerId: 7, producerEpoch: 1 });
  }
  addPartitionsToTxn() {
    return this.#answer('AddPartitionsToTxn', {});
  }
  addOffsetsToTxn() {
    return this.#answer('AddOffsetsToTxn', {});
  }
  txnOffsetCommit() {
    return this.#answer('TxnOffsetCommit', {});
  }
  endTxn() {
    return this.#answer('EndTxn', {});
  }
}

function standIn() {
  const lookups: string[] = [];
  let coordinator = new StandInBroker(1);
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const cluster = {
    retry: { retries: 0 },
    async refreshMetadataIfNecessary() {},
    async findGroupCoordinator({ groupId, coordinatorType }: { groupId: string; coordinatorType: number }) {
      lookups.push(`${coordinatorType}:${groupId}`);
      return coordinator;
    },
  };
  const eos = createEosManager({ logger: { namespace: () => logger, ...logger }, cluster, transactional: true, transactionalId: 'reader' });
  const oneTransaction = async () => {
    eos.beginTransaction();
    await eos.addPartitionsToTransaction([{ topic: 't', partitions: [{ partition: 0 }] }]);
    await eos.sendOffsets({ consumerGroupId: 'position', topics: [{ topic: 't', partitions: [{ partition: 0, offset: '1' }] }] });
    await eos.commit();
  };
  return {
    eos,
    lookups,
    oneTransaction,
    get coordinator() {
      return coordinator;
    },
    moveCoordinator(to: StandInBroker) {
      coordinator = to;
    },
  };
}

/** One transaction done (both coordinators remembered), then the coordinators move to broker 2. */
async function afterOneTransactionTheCoordinatorMoves() {
  const kafka = standIn();
  await kafka.eos.initProducerId();
  await kafka.oneTransaction();
  const old = kafka.coordinator;
  const moved = new StandInBroker(2);
  kafka.moveCoordinator(moved);
  return { kafka, old, moved };
}

describe('kafkajs patch: transaction and group coordinators are remembered', () => {
  it('looks each coordinator up once for many transactions, and sends every step to it', async () => {
    const kafka = standIn();
    await kafka.eos.initProducerId();
    for (let index = 0; index < 5; index++) await kafka.oneTransaction();
    // 1 transaction-coordinator lookup (type 1) and 1 group-coordinator lookup (type 0), not 4 per transaction.
    expect(kafka.lookups).toEqual(['1:reader', '0:position']);
    expect(kafka.coordinator.calls.filter((call) => call === 'EndTxn')).toHaveLength(5);
  });

  it('resends once to the coordinator a fresh lookup finds when the remembered one says it is not the coordinator any more', async () => {
    const { kafka, old, moved } = await afterOneTransactionTheCoordinatorMoves();
    old.failNext = 'EndTxn';
    kafka.eos.beginTransaction();
    await kafka.eos.addPartitionsToTransaction([{ topic: 't', partitions: [{ partition: 0 }] }]);
    await kafka.eos.commit();
    // The refused EndTxn went to the old coordinator, its resend to the new one, which is remembered from then on.
    expect(old.calls.filter((call) => call === 'EndTxn')).toHaveLength(2);
    expect(moved.calls).toEqual(['EndTxn']);
    expect(kafka.lookups).toEqual(['1:reader', '0:position', '1:reader']);
    // The group coordinator (still the old broker, remembered) moves too.
    old.failNext = 'TxnOffsetCommit';
    old.failWith = 'GROUP_COORDINATOR_NOT_AVAILABLE';
    await kafka.oneTransaction();
    expect(old.calls.filter((call) => call === 'TxnOffsetCommit')).toHaveLength(2);
    expect(moved.calls).toEqual(['EndTxn', 'AddPartitionsToTxn', 'AddOffsetsToTxn', 'TxnOffsetCommit', 'EndTxn']);
  });

  it('forgets a coordinator whose request failed otherwise: the error reaches the caller and the next step looks it up again', async () => {
    const { kafka, old, moved } = await afterOneTransactionTheCoordinatorMoves();
    old.failNext = 'AddPartitionsToTxn';
    old.failWith = 'INVALID_PRODUCER_EPOCH';
    kafka.eos.beginTransaction();
    const partitions = [{ topic: 't', partitions: [{ partition: 0 }] }];
    await expect(kafka.eos.addPartitionsToTransaction(partitions)).rejects.toThrow('refused: INVALID_PRODUCER_EPOCH');
    expect(kafka.lookups).toEqual(['1:reader', '0:position']);
    await kafka.eos.addPartitionsToTransaction(partitions);
    expect(kafka.lookups).toEqual(['1:reader', '0:position', '1:reader']);
    expect(moved.calls).toEqual(['AddPartitionsToTxn']);
  });

  it('looks a coordinator up again once its connection is gone', async () => {
    const kafka = standIn();
    await kafka.eos.initProducerId();
    await kafka.oneTransaction();
    kafka.coordinator.connected = false;
    kafka.moveCoordinator(new StandInBroker(2));
    await kafka.oneTransaction();
    expect(kafka.lookups).toEqual(['1:reader', '0:position', '1:reader', '0:position']);
    expect(kafka.coordinator.calls).toEqual(['AddPartitionsToTxn', 'AddOffsetsToTxn', 'TxnOffsetCommit', 'EndTxn']);
  });
});
