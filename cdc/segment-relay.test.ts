import { describe, expect, it } from 'vitest';
import { SegmentRelay } from './segment-relay';

function gate(): { promise: Promise<void>; open: () => void; fail: (error: Error) => void } {
  let open: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

function flowLog(): { events: string[]; flow: { pause(): void; resume(): void } } {
  const events: string[] = [];
  return { events, flow: { pause: () => events.push('pause'), resume: () => events.push('resume') } };
}

/** A relay over numbers whose hand-over of an item with a gate waits for it; it records what it took and did. */
function relayWith(gates: ReadonlyMap<number, { promise: Promise<void> }>, failures: unknown[] = []) {
  const taken: number[] = [];
  const { events, flow } = flowLog();
  const relay = new SegmentRelay<number>(
    (item) => {
      taken.push(item);
      return gates.get(item)?.promise;
    },
    flow,
    (error) => failures.push(error),
  );
  return { relay, taken, events };
}

describe('SegmentRelay', () => {
  it('hands items over at once, without pausing, while the consumer takes them at once', () => {
    const { relay, taken, events } = relayWith(new Map());
    for (const item of [1, 2, 3]) relay.push(item);
    expect(taken).toEqual([1, 2, 3]);
    expect(events).toEqual([]);
  });

  it('pauses while a hand-over waits, queues what still arrives, keeps the order and resumes once all were taken', async () => {
    const wait = gate();
    const { relay, taken, events } = relayWith(new Map([[2, wait]]));
    relay.push(1);
    relay.push(2);
    relay.push(3);
    relay.push(4);
    expect(taken).toEqual([1, 2]);
    expect(events).toEqual(['pause']);
    wait.open();
    await relay.idle();
    expect(taken).toEqual([1, 2, 3, 4]);
    expect(events).toEqual(['pause', 'resume']);
    relay.push(5);
    expect(taken).toEqual([1, 2, 3, 4, 5]);
  });

  it('stops at the first failure, thrown or rejected: nothing after it is handed over, and the flow stays paused', async () => {
    const failures: unknown[] = [];
    const wait = gate();
    const { relay, taken, events } = relayWith(new Map([[1, wait]]), failures);
    relay.push(1);
    relay.push(2);
    wait.fail(new Error('kafka gone'));
    await relay.idle();
    relay.push(3);
    expect(taken).toEqual([1]);
    expect(failures).toEqual([new Error('kafka gone')]);
    expect(events).toEqual(['pause']);

    const thrown: unknown[] = [];
    const throwing = new SegmentRelay<number>(
      (item) => {
        if (item === 2) throw new Error('bad row');
        taken.push(item);
      },
      flowLog().flow,
      (error) => thrown.push(error),
    );
    throwing.push(10);
    throwing.push(2);
    throwing.push(11);
    expect(taken).toEqual([1, 10]);
    expect(thrown).toEqual([new Error('bad row')]);
  });

  it('hands nothing more over once closed, not even what was queued while a hand-over waited, and leaves the flow paused', async () => {
    const wait = gate();
    const { relay, taken, events } = relayWith(new Map([[1, wait]]));
    relay.push(1);
    relay.push(2);
    relay.close();
    relay.push(3);
    wait.open();
    await relay.idle();
    expect(taken).toEqual([1]);
    expect(events).toEqual(['pause']);
  });

  it('keeps waiting, in order, when a queued item itself has to wait', async () => {
    const gates = new Map([
      [1, gate()],
      [3, gate()],
    ]);
    const { relay, taken, events } = relayWith(gates);
    for (const item of [1, 2, 3, 4]) relay.push(item);
    gates.get(1)!.open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(taken).toEqual([1, 2, 3]);
    expect(events).toEqual(['pause']);
    gates.get(3)!.open();
    await relay.idle();
    expect(taken).toEqual([1, 2, 3, 4]);
    expect(events).toEqual(['pause', 'resume']);
  });
});
