import { SyncError } from '../infra/runtime/errors';

export interface ConnectionBudgetOptions<C, T> {
  /** Open connections allowed at once, across every external database of this process. */
  maxOpen: number;
  /**
   * Of those, connection attempts in progress at once (default: maxOpen). Hosts that accept and
   * never answer hold an attempt until it times out; they may not take every slot.
   */
  maxOpening?: number;
  /** An idle connection is closed after this long, so quiet databases hold nothing open. */
  idleMs: number;
  open(target: T): Promise<C>;
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
export class ConnectionBudget<C, T = string> {
  #open = 0;
  /** Connection attempts in progress (each also counted in #open). */
  #opening = 0;
  /** Databases whose last connection attempt failed: they wait behind every other database. */
  readonly #failing = new Set<string>();
  // Insertion order is recency: the first entry is the least recently used idle connection.
  readonly #idle = new Set<IdleConnection<C>>();
  readonly #waiters: Waiter<C>[] = [];
  #closed = false;

  readonly #maxOpening: number;

  constructor(private readonly options: ConnectionBudgetOptions<C, T>) {
    if (!Number.isInteger(options.maxOpen) || options.maxOpen < 1) throw new RangeError('maxOpen must be a positive integer');
    this.#maxOpening = Math.min(options.maxOpen, options.maxOpening ?? options.maxOpen);
    if (!Number.isInteger(this.#maxOpening) || this.#maxOpening < 1) throw new RangeError('maxOpening must be a positive integer');
  }

  /** Connection attempts in progress now. */
  get openingCount(): number {
    return this.#opening;
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

  async lease(key: string, target: T): Promise<Lease<C>> {
    if (this.#closed) throw closedError();
    // Its own idle connection is always taken at once; a new slot only when nobody is queued
    // (earlier waiters go first).
    const immediate = this.#claimIdle(key) ?? (this.#waiters.length === 0 ? this.#claim(key) : undefined);
    const granted =
      immediate ??
      (await new Promise<Claim<C>>((grant, refuse) => {
        this.#waiters.push({ key, grant, refuse });
        this.#pump();
      }));
    return this.#realize(granted, key, target);
  }

  /**
   * This database's own idle connection, leased, or undefined: never opens, evicts or waits, and
   * only while the budget is below its cap with nobody waiting. For work that may be skipped
   * (counting a table for the status), so it never takes capacity that batches need.
   */
  leaseIdle(key: string): Lease<C> | undefined {
    // At the cap, an idle connection is what the next batch of another database would take over:
    // holding it for optional work would make that batch open one more connection, or wait.
    if (this.#closed || this.#waiters.length > 0 || this.#open >= this.options.maxOpen) return undefined;
    const claim = this.#claimIdle(key);
    return claim?.kind === 'reuse' ? this.#leaseOf(key, claim.connection) : undefined;
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

  /** This database's own idle connection, if it is still usable. */
  #claimIdle(key: string): Claim<C> | undefined {
    for (const idle of this.#idle) {
      if (idle.key !== key || !this.options.usable(idle.connection)) continue;
      this.#takeIdle(idle);
      return { kind: 'reuse', connection: idle.connection };
    }
    return undefined;
  }

  #claim(key: string): Claim<C> | undefined {
    const reuse = this.#claimIdle(key);
    if (reuse) return reuse;
    // Everything below opens a connection: only within the share for attempts, counted from the
    // claim on (a pump grants several claims before any of them starts opening).
    if (this.#opening >= this.#maxOpening) return undefined;
    let claim: Claim<C> | undefined;
    for (const idle of this.#idle) {
      if (idle.key !== key) continue;
      // A connection that died while idle: its slot is reused for a fresh one.
      this.#takeIdle(idle);
      claim = { kind: 'replace', victim: idle.connection };
      break;
    }
    if (!claim && this.#open < this.options.maxOpen) {
      this.#open++;
      claim = { kind: 'open' };
    }
    if (!claim) {
      const leastRecent = this.#idle.values().next();
      if (leastRecent.done) return undefined;
      this.#takeIdle(leastRecent.value);
      claim = { kind: 'replace', victim: leastRecent.value.connection };
    }
    this.#opening++;
    return claim;
  }


  #takeIdle(idle: IdleConnection<C>): void {
    clearTimeout(idle.timer);
    this.#idle.delete(idle);
  }

  async #realize(claim: Claim<C>, key: string, target: T): Promise<Lease<C>> {
    if (claim.kind === 'reuse') return this.#leaseOf(key, claim.connection);
    // The slot and the attempt are counted from the claim on: a failed open gives both back.
    try {
      // The victim holds its slot until it is closed (bounded by the close's own deadline): the
      // server counts a connection until then, and the cap is what the server sees.
      if (claim.kind === 'replace') await this.options.close(claim.victim).catch(() => undefined);
      const connection = await this.options.open(target);
      this.#failing.delete(key);
      this.#opening--;
      // The attempt's share is free again for the next waiter.
      this.#pump();
      return this.#leaseOf(key, connection);
    } catch (error: unknown) {
      this.#failing.add(key);
      this.#opening--;
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
          // Its slot is free once the server no longer counts it.
          void this.options
            .close(connection)
            .catch(() => undefined)
            .finally(() => {
              this.#open--;
              this.#pump();
            });
          return;
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
    await this.options.close(idle.connection).catch(() => undefined);
    // Its slot is free once the server no longer counts it.
    this.#open--;
    this.#pump();
  }

  /**
   * Hands freed capacity to waiters in arrival order — those of databases whose last attempt
   * failed after all others, so a flood of dead hosts cannot delay a healthy database — and lets
   * a waiter whose own idle connection came back take it whatever its place.
   */
  #pump(): void {
    for (const waiter of [...this.#waiters]) {
      const reuse = this.#claimIdle(waiter.key);
      if (reuse) this.#grant(waiter, reuse);
    }
    const ordered = [...this.#waiters.filter((waiter) => !this.#failing.has(waiter.key)), ...this.#waiters.filter((waiter) => this.#failing.has(waiter.key))];
    for (const waiter of ordered) {
      const claim = this.#claim(waiter.key);
      if (!claim) return;
      this.#grant(waiter, claim);
    }
  }

  #grant(waiter: Waiter<C>, claim: Claim<C>): void {
    this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
    waiter.grant(claim);
  }
}

function closedError(): SyncError {
  return new SyncError('SINK_STOPPING', 'the sink is stopping; no new database connections are opened');
}
