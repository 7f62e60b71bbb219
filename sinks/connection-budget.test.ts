import { describe, expect, it } from 'vitest';
import { ConnectionBudget } from './connection-budget';
import { waitFor } from '../infra/wait-for';

interface FakeConnection {
  id: number;
  target: string;
  closed: boolean;
  usable: boolean;
}

function fakeBudget(maxOpen: number, idleMs = 60_000, failFor = new Set<string>()) {
  const opened: FakeConnection[] = [];
  const budget = new ConnectionBudget<FakeConnection>({
    maxOpen,
    idleMs,
    async open(target) {
      if (failFor.has(target)) throw new Error(`cannot reach ${target}`);
      const connection = { id: opened.length, target, closed: false, usable: true };
      opened.push(connection);
      return connection;
    },
    async close(connection) {
      connection.closed = true;
    },
    usable: (connection) => connection.usable && !connection.closed,
  });
  const live = () => opened.filter((connection) => !connection.closed).length;
  return { budget, opened, live };
}

describe('ConnectionBudget', () => {
  it('reuses a released connection for the same database', async () => {
    const { budget, opened } = fakeBudget(2);
    const first = await budget.lease('a', 'db-a');
    first.release();
    const second = await budget.lease('a', 'db-a');
    expect(second.connection).toBe(first.connection);
    expect(opened).toHaveLength(1);
    second.release();
  });

  it('lends a database its own idle connection for optional work only below the cap, never opening or taking another', async () => {
    const { budget, opened } = fakeBudget(2);
    expect(budget.leaseIdle('a')).toBeUndefined();
    expect(opened).toHaveLength(0);
    const a = await budget.lease('a', 'db-a');
    expect(budget.leaseIdle('a')).toBeUndefined(); // in use
    a.release();
    const spare = budget.leaseIdle('a');
    expect(spare?.connection).toBe(a.connection);
    expect(budget.leaseIdle('b')).toBeUndefined(); // never another database's
    spare!.release();
    // At the cap, the idle connection is what another database's batch would take over: not lent.
    const b = await budget.lease('b', 'db-b');
    b.release();
    expect(budget.openCount).toBe(2);
    expect(budget.leaseIdle('a')).toBeUndefined();
    expect(opened).toHaveLength(2);
  });

  it('never has more connections open than the cap, and makes callers wait when all are in use', async () => {
    const { budget, live } = fakeBudget(2);
    const a = await budget.lease('a', 'db-a');
    const b = await budget.lease('b', 'db-b');
    let cGranted = false;
    const c = budget.lease('c', 'db-c').then((lease) => {
      cGranted = true;
      return lease;
    });
    await Promise.resolve();
    expect(cGranted).toBe(false);
    expect(budget.waitingCount).toBe(1);
    expect(live()).toBe(2);
    a.release();
    const cLease = await c;
    // a's idle connection was closed to make room for c.
    expect(live()).toBe(2);
    expect(a.connection.closed).toBe(true);
    expect(cLease.connection.target).toBe('db-c');
    b.release();
    cLease.release();
    expect(budget.openCount).toBe(2);
  });

  it('replaces the least recently used idle connection first', async () => {
    const { budget } = fakeBudget(2);
    const a = await budget.lease('a', 'db-a');
    const b = await budget.lease('b', 'db-b');
    a.release();
    b.release();
    const c = await budget.lease('c', 'db-c');
    expect(a.connection.closed).toBe(true);
    expect(b.connection.closed).toBe(false);
    c.release();
  });

  it('serves waiters in arrival order', async () => {
    const { budget } = fakeBudget(1);
    const holder = await budget.lease('a', 'db-a');
    const order: string[] = [];
    const waiting = ['b', 'c', 'd'].map((key) =>
      budget.lease(key, `db-${key}`).then((lease) => {
        order.push(key);
        lease.release();
      }),
    );
    holder.release();
    await Promise.all(waiting);
    expect(order).toEqual(['b', 'c', 'd']);
    expect(budget.openCount).toBe(1);
  });

  it('closes idle connections after the idle time', async () => {
    const { budget, live } = fakeBudget(4, 50);
    const leases = await Promise.all(['a', 'b', 'c'].map((key) => budget.lease(key, `db-${key}`)));
    for (const lease of leases) lease.release();
    expect(live()).toBe(3);
    await waitFor('idle connections closed', async () => live() === 0, { timeoutMs: 5_000, intervalMs: 20 });
    expect(budget.openCount).toBe(0);
  });

  it('gives the slot back when opening fails, and closes broken or dead connections instead of reusing them', async () => {
    const { budget, opened } = fakeBudget(1, 60_000, new Set(['db-down']));
    await expect(budget.lease('down', 'db-down')).rejects.toThrow('cannot reach db-down');
    expect(budget.openCount).toBe(0);

    const first = await budget.lease('a', 'db-a');
    first.release(true);
    expect(first.connection.closed).toBe(true);
    // The slot comes back once the close finished (the server counts the connection until then).
    await new Promise((resolve) => setImmediate(resolve));
    expect(budget.openCount).toBe(0);

    const second = await budget.lease('a', 'db-a');
    second.release();
    second.connection.usable = false;
    const third = await budget.lease('a', 'db-a');
    expect(third.connection).not.toBe(second.connection);
    expect(second.connection.closed).toBe(true);
    expect(opened.filter((connection) => !connection.closed)).toHaveLength(1);
    third.release();
  });

  it('forgets one database and refuses everything after close', async () => {
    const { budget, live } = fakeBudget(2);
    const a = await budget.lease('a', 'db-a');
    const b = await budget.lease('b', 'db-b');
    a.release();
    b.release();
    await budget.forget('a');
    expect(a.connection.closed).toBe(true);
    expect(b.connection.closed).toBe(false);
    const c = await budget.lease('c', 'db-c');
    // The cap is reached with b idle: d takes b's place, e has to wait.
    const d = await budget.lease('d', 'db-d');
    expect(b.connection.closed).toBe(true);
    const waiting = budget.lease('e', 'db-e');
    await budget.close();
    await expect(waiting).rejects.toMatchObject({ code: 'SINK_STOPPING' });
    c.release();
    d.release();
    expect(live()).toBe(0);
    await expect(budget.lease('a', 'db-a')).rejects.toMatchObject({ code: 'SINK_STOPPING' });
  });

  // 60 databases pointing at a listener that accepts and never answers used to hold every slot
  // while their attempts hung, and a healthy tenant's lag rose from 0.06 s to several seconds.
  it('keeps hanging connection attempts to their own share, and healthy databases ahead of failing ones', async () => {
    const hanging: { target: string; reject: (error: Error) => void }[] = [];
    const opened: string[] = [];
    const budget = new ConnectionBudget<{ target: string }>({
      maxOpen: 8,
      maxOpening: 2,
      idleMs: 60_000,
      open: (target) =>
        target.startsWith('dead')
          ? new Promise((_, reject) => hanging.push({ target, reject }))
          : Promise.resolve().then(() => {
              opened.push(target);
              return { target };
            }),
      close: async () => undefined,
      usable: () => true,
    });
    const timeOutAttempts = () => {
      for (const attempt of hanging.splice(0)) attempt.reject(new Error('timeout'));
    };
    const healthy = await budget.lease('healthy', 'db-healthy');
    healthy.release();
    const deadKeys = Array.from({ length: 6 }, (_, index) => `dead${index}`);
    const firstTries = deadKeys.map((key) => budget.lease(key, key).catch((error: unknown) => error));
    await waitFor('two attempts in flight', async () => hanging.length === 2, { timeoutMs: 2_000, intervalMs: 5 });
    expect(budget.openingCount).toBe(2);
    expect(budget.waitingCount).toBe(4);
    // The healthy database's idle connection is handed over at once, whatever is queued.
    const again = await budget.lease('healthy', 'db-healthy');
    expect(again.connection).toBe(healthy.connection);
    again.release();
    for (let round = 0; round < 3; round++) {
      await waitFor('attempts in flight', async () => hanging.length === 2, { timeoutMs: 2_000, intervalMs: 5 });
      timeOutAttempts();
    }
    expect((await Promise.all(firstTries)).every((result) => result instanceof Error)).toBe(true);
    // The dead databases retry; a database that needs a new connection comes after them…
    const retries = deadKeys.map((key) => budget.lease(key, key).catch((error: unknown) => error));
    await waitFor('two retries in flight', async () => hanging.length === 2, { timeoutMs: 2_000, intervalMs: 5 });
    const fresh = budget.lease('other', 'db-other');
    expect(budget.waitingCount).toBe(5);
    timeOutAttempts();
    // …and is served first: the others failed before.
    await expect(fresh).resolves.toMatchObject({ connection: { target: 'db-other' } });
    expect(opened).toEqual(['db-healthy', 'db-other']);
    for (let round = 0; round < 2; round++) {
      await waitFor('retries in flight', async () => hanging.length === 2, { timeoutMs: 2_000, intervalMs: 5 });
      timeOutAttempts();
    }
    expect((await Promise.all(retries)).every((result) => result instanceof Error)).toBe(true);
    expect(budget.openingCount).toBe(0);
    expect(budget.openCount).toBe(2);
  });
});
