import { SyncError } from '../infra/runtime/errors';

export interface ConnectionBudgetOptions<C> {
  /** Open connections allowed at once, across every external database of this process. */
  maxOpen: number;
  /** An idle connection is closed after this long, so quiet databases hold nothing open. */
  idleMs: number;
  open(connectionString: string): Promise<C>;
  close(connection: C): Promise<void>;
  /** False once a connection has failed; such a connection is closed instead of reused. */
  usable(connection: C): boolean;
}

export interface Lease<C> {
  connection: C;
  /** Gives the connection back; `broken` closes it instead of keeping it for reuse. */
  release(broken?: boolean): void;
}

interface IdleConnection<C> {
  key: string;
  connection: C;
  timer: NodeJS.Timeout;
}

/** What a caller may do now: reuse its idle connection, open a new one, or replace another's idle one. */
type Claim<C> = { kind: 'reuse'; connection: C } | { kind: 'open' } | { kind: 'replace'; victim: C };

interface Waiter<C> {
  key: string;
  grant(claim: Claim<C>): void;
  refuse(error: Error): void;
}

/**
 * One budget of database connections for a whole sink process. A thousand external databases
 * cannot each keep a pool: the budget caps the connections open at once, keeps a released
 * connection for its database's next batch, closes it when idle, and when the cap is reached
 * closes the least recently used idle connection of another database to make room. Callers wait
 * (first come, first served) only when every connection is in use.
 */
export class ConnectionBudget<C> {
  #open = 0;
  // Insertion order is recency: the first entry is the least recently used idle connection.
  readonly #idle = new Set<IdleConnection<C>>();
  readonly #waiters: Waiter<C>[] = [];
  #closed = false;

  constructor(private readonly options: ConnectionBudgetOptions<C>) {
    if (!Number.isInteger(options.maxOpen) || options.maxOpen < 1) throw new RangeError('maxOpen must be a positive integer');
  }

  /** Connections open now (in use or idle). */
  get openCount(): number {
    return this.#open;
  }

  get idleCount(): number {
    return this.#idle.size;
  }

  get waitingCount(): number {
    return this.#waiters.length;
  }

  async lease(key: string, connectionString: string): Promise<Lease<C>> {
    if (this.#closed) throw closedError();
    // Earlier waiters go first: a newcomer claims directly only when nobody is queued.
    const immediate = this.#waiters.length === 0 ? this.#claim(key) : undefined;
    const granted =
      immediate ??
      (await new Promise<Claim<C>>((grant, refuse) => {
        this.#waiters.push({ key, grant, refuse });
        this.#pump();
      }));
    return this.#realize(granted, key, connectionString);
  }

  /** Closes the idle connections of one database (it was removed or reconfigured). */
  async forget(key: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const idle of this.#idle) {
      if (idle.key !== key) continue;
      closing.push(this.#closeIdle(idle));
    }
    await Promise.all(closing);
  }

  /** Closes every idle connection and refuses waiters; leases still out close on release. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.refuse(closedError());
    await Promise.all([...this.#idle].map((idle) => this.#closeIdle(idle)));
  }

  #claim(key: string): Claim<C> | undefined {
    for (const idle of this.#idle) {
      if (idle.key !== key) continue;
      this.#takeIdle(idle);
      if (this.options.usable(idle.connection)) return { kind: 'reuse', connection: idle.connection };
      // A connection that died while idle: its slot is reused for a fresh one.
      return { kind: 'replace', victim: idle.connection };
    }
    if (this.#open < this.options.maxOpen) {
      this.#open++;
      return { kind: 'open' };
    }
    const leastRecent = this.#idle.values().next();
    if (leastRecent.done) return undefined;
    this.#takeIdle(leastRecent.value);
    return { kind: 'replace', victim: leastRecent.value.connection };
  }

  #takeIdle(idle: IdleConnection<C>): void {
    clearTimeout(idle.timer);
    this.#idle.delete(idle);
  }

  async #realize(claim: Claim<C>, key: string, connectionString: string): Promise<Lease<C>> {
    if (claim.kind === 'reuse') return this.#leaseOf(key, claim.connection);
    if (claim.kind === 'replace') await this.options.close(claim.victim).catch(() => undefined);
    // The slot is counted from the claim on: a failed open gives it back.
    try {
      return this.#leaseOf(key, await this.options.open(connectionString));
    } catch (error: unknown) {
      this.#open--;
      this.#pump();
      throw error;
    }
  }

  #leaseOf(key: string, connection: C): Lease<C> {
    let released = false;
    return {
      connection,
      release: (broken = false) => {
        if (released) return;
        released = true;
        if (broken || this.#closed || !this.options.usable(connection)) {
          this.#open--;
          void this.options.close(connection).catch(() => undefined);
        } else {
          const idle: IdleConnection<C> = { key, connection, timer: setTimeout(() => void this.#closeIdle(idle), this.options.idleMs) };
          // Idle timers must not keep a stopping process alive.
          idle.timer.unref();
          this.#idle.add(idle);
        }
        this.#pump();
      },
    };
  }

  async #closeIdle(idle: IdleConnection<C>): Promise<void> {
    if (!this.#idle.has(idle)) return;
    this.#takeIdle(idle);
    this.#open--;
    this.#pump();
    await this.options.close(idle.connection).catch(() => undefined);
  }

  /** Hands freed capacity to waiters in arrival order. */
  #pump(): void {
    while (this.#waiters.length > 0) {
      const first = this.#waiters[0];
      if (!first) return;
      const claim = this.#claim(first.key);
      if (!claim) return;
      this.#waiters.shift();
      first.grant(claim);
    }
  }
}

function closedError(): SyncError {
  return new SyncError('SINK_STOPPING', 'the sink is stopping; no new database connections are opened');
}
