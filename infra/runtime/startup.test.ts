import { describe, expect, it } from 'vitest';
import { UnrecoverableError } from './errors';
import { isPostgresRefusal, StartupProgress, untilStarted } from './startup';

function failingTimes(times: number, error: () => unknown): () => Promise<string> {
  let calls = 0;
  return async () => {
    calls += 1;
    if (calls <= times) throw error();
    return `started after ${calls} attempts`;
  };
}

describe('untilStarted', () => {
  it('retries a dependency that is down until it answers, reporting what it waits for', async () => {
    const progress = new StartupProgress();
    const seen: string[] = [];
    const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });
    const attempt = failingTimes(3, refused);
    const started = await untilStarted('Kafka', async () => {
      const report = progress.report;
      if (report.waiting_for) seen.push(`${report.waiting_for} ${report.last_error?.code} ${report.attempts}`);
      return attempt();
    }, progress, new AbortController().signal);
    expect(started).toBe('started after 4 attempts');
    expect(seen).toEqual(['Kafka ECONNREFUSED 1', 'Kafka ECONNREFUSED 2', 'Kafka ECONNREFUSED 3']);
    expect(progress.report.state).toBe('starting');
    progress.running();
    expect(progress.report).toEqual({ state: 'running', since_millis: expect.any(Number) });
  });

  it('gives up at once on an unrecoverable error: waiting cannot fix a wrong configuration', async () => {
    const attempt = failingTimes(1, () => new UnrecoverableError('CDC_SLOT_WRONG_PLUGIN', 'the slot uses another plugin'));
    await expect(untilStarted('the slot', attempt, new StartupProgress(), new AbortController().signal)).rejects.toBeInstanceOf(UnrecoverableError);
  });

  it('stops waiting when the process is told to stop', async () => {
    const stop = new AbortController();
    const waiting = untilStarted('Postgres', failingTimes(1_000, () => new Error('down')), new StartupProgress(), stop.signal);
    stop.abort();
    await expect(waiting).rejects.toThrow();
  });

  it('reports the error class, never more than the start of a message', async () => {
    const progress = new StartupProgress();
    const attempt = failingTimes(1, () => new Error('x'.repeat(1_000)));
    await untilStarted('Postgres', attempt, progress, new AbortController().signal);
    expect(progress.report.last_error).toEqual({ code: 'Error', message: 'x'.repeat(300) });
  });
});

describe('isPostgresRefusal', () => {
  const withCode = (code: string) => Object.assign(new Error('x'), { code });
  it.each([
    ['the server is starting up', withCode('57P03'), false],
    ['connection failure', withCode('08006'), false],
    ['too many connections', withCode('53300'), false],
    ['connection refused (no SQLSTATE)', withCode('ECONNREFUSED'), false],
    ['a broken pipe', withCode('EPIPE'), false],
    ['a wrong password', withCode('28P01'), true],
    ['a failing migration, wrapped', new Error('migration failed', { cause: withCode('42P07') }), true],
  ])('%s', (_, error, expected) => {
    expect(isPostgresRefusal(error)).toBe(expected);
  });

  it('stops waiting on a refusal', async () => {
    const attempt = failingTimes(1, () => withCode('28P01'));
    await expect(untilStarted('Postgres', attempt, new StartupProgress(), new AbortController().signal)).rejects.toMatchObject({ code: '28P01' });
  });
});
