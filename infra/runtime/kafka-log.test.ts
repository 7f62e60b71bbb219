import { describe, expect, it } from 'vitest';
import { kafkaLogLevel } from './kafka-log';

describe('kafkajs log levels', () => {
  it.each([
    { label: 'ERROR', message: 'Response InitProducerId(key: 22, version: 1)', error: "The coordinator is loading and hence can't process requests for this group", level: 'info' },
    { label: 'ERROR', message: 'Response GroupCoordinator(key: 10, version: 2)', error: 'The group coordinator is not available', level: 'info' },
    { label: 'ERROR', message: 'Response Metadata(key: 3, version: 6)', error: 'This server does not host this topic-partition', level: 'info' },
    { label: 'ERROR', message: 'Failed to send messages: This server is not the leader for that topic-partition', error: undefined, level: 'info' },
    { label: 'ERROR', message: 'Response AddPartitionsToTxn', error: 'There is already another concurrent operation on the same transaction', level: undefined },
    { label: 'ERROR', message: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', error: undefined, level: 'error' },
    { label: 'ERROR', message: 'Response CreateTopics(key: 19, version: 3)', error: 'Topic creation errors', level: 'info' },
    { label: 'ERROR', message: 'Response Produce(key: 0, version: 7)', error: 'Topic creation errors', level: 'error' },
    { label: 'ERROR', message: 'Response Produce', error: 'The broker received an out of order sequence number', level: 'error' },
    { label: 'WARN', message: 'KafkaJS v2.0.0 switched default partitioner', error: undefined, level: 'warn' },
  ])('$message $error → $level', ({ label, message, error, level }) => {
    expect(kafkaLogLevel({ label, log: { message, error } })).toBe(level);
  });
});
