import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { PipelineContext } from '../e2e/harness/pipeline-context';
import { startApi } from './start-api';

/** Input that used to crash the API or be stored changed (issue 11, point 5). */

async function countUsers(ctx: PipelineContext): Promise<number> {
  return Number((await ctx.internal.query('SELECT count(*) FROM "ProjectUser"')).rows[0].count);
}

/** Resolves with the response, or rejects once `timeoutMs` passed without one (a deadline, not a wait). */
function responseOf(request: http.ClientRequest, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`no response within ${timeoutMs} ms: the server is still reading the body`)), timeoutMs);
    request.on('error', () => undefined);
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        clearTimeout(deadline);
        resolve({ status: response.statusCode ?? 0, body });
      });
    });
  });
}

/** Writes `bytes` of body in 64 KiB chunks, respecting backpressure, and does not end the request. */
async function writeWithoutEnding(request: http.ClientRequest, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (let written = 0; written < bytes && !request.destroyed; written += chunk.length) {
    if (!request.write(chunk)) await new Promise<void>((resolve) => request.once('drain', resolve).once('close', resolve));
  }
}

describe('request input', () => {
  it('answers lone surrogates in metadata keys and values with 400 SCHEMA_ERROR, and keeps surrogate pairs', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const bodies: { text: string; field: string }[] = [
      { text: '{"client_metadata":{"\\udfff":1}}', field: 'client_metadata' },
      { text: '{"client_metadata":{"key":"a\\udfffb"}}', field: 'client_metadata.key' },
      { text: '{"server_metadata":{"list":["\\ud800"]}}', field: 'server_metadata.list.0' },
      { text: '{"display_name":"x\\ud800"}', field: 'display_name' },
    ];
    for (const { text, field } of bodies) {
      const response = await ctx.as(project, 'server', 'POST', '/api/v1/users', text);
      expect([response.status, response.body.code], text).toEqual([400, 'SCHEMA_ERROR']);
      expect(String(response.body.error), text).toContain(`${field}:`);
    }
    const me = await ctx.as(project, 'client', 'POST', '/api/v1/auth/password/sign-up', { email: 'me@example.com', password: 'a good password' });
    const own = await ctx.asUser(project, String(me.body.access_token), 'PATCH', '/api/v1/users/me', '{"client_metadata":{"\\udc00x":true}}');
    expect([own.status, own.body.code]).toEqual([400, 'SCHEMA_ERROR']);
    expect(await countUsers(ctx)).toBe(1);

    const pair = await ctx.as(project, 'server', 'POST', '/api/v1/users', { display_name: 'smile 😀', client_metadata: { '😀': '😀' } });
    expect(pair.status).toBe(201);
    expect(pair.body).toMatchObject({ display_name: 'smile 😀', client_metadata: { '😀': '😀' } });
  });

  it('refuses numbers a double cannot hold exactly instead of storing them changed', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    for (const [text, field] of [
      ['{"server_metadata":{"n":9007199254740993}}', 'server_metadata.n'],
      ['{"client_metadata":{"deep":[1,{"n":-12345678901234567890}]}}', 'client_metadata.deep.1.n'],
      ['{"client_read_only_metadata":{"huge":1e400}}', 'client_read_only_metadata.huge'],
    ] as const) {
      const response = await ctx.as(project, 'server', 'POST', '/api/v1/users', text);
      expect([response.status, response.body.code], text).toEqual([400, 'SCHEMA_ERROR']);
      expect(String(response.body.error), text).toContain(`${field}:`);
    }
    expect(await countUsers(ctx)).toBe(0);

    const exact = await ctx.as(project, 'server', 'POST', '/api/v1/users', '{"server_metadata":{"max":9007199254740991,"min":-9007199254740991,"f":0.1,"big":"9007199254740993"}}');
    expect(exact.status).toBe(201);
    const stored = await ctx.internal.query<{ text: string }>(`SELECT "serverMetadata"::text AS text FROM "ProjectUser" WHERE "projectUserId" = $1`, [exact.body.id]);
    expect(JSON.parse(stored.rows[0]!.text)).toEqual({ max: 9007199254740991, min: -9007199254740991, f: 0.1, big: '9007199254740993' });
    expect(stored.rows[0]!.text).toContain('9007199254740991');
  });

  it('refuses an oversized body from Content-Length or while it streams, without waiting for the rest', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const api = await startApi({ ...ctx.config, API_PORT: 0, LISTEN_HOST: '127.0.0.1' });
    const requests: http.ClientRequest[] = [];
    try {
      const url = new URL('/api/v1/users', api.url);
      const headers = { 'content-type': 'application/json', 'x-stack-project-id': project.id, 'x-stack-access-type': 'server', 'x-stack-secret-server-key': project.secretServerKey };

      // Announces 50 MB and sends 64 KiB: the answer must come from the header alone.
      const announced = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(50_000_000) } });
      requests.push(announced);
      const announcedResponse = responseOf(announced, 10_000);
      await writeWithoutEnding(announced, 64 * 1024);
      const fromHeader = await announcedResponse;
      expect(fromHeader.status).toBe(413);
      expect(JSON.parse(fromHeader.body)).toMatchObject({ code: 'BODY_TOO_LARGE' });

      // Chunked, no length: refused once more than the limit has arrived, while the client is still sending.
      const streamed = http.request(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } });
      requests.push(streamed);
      const streamedResponse = responseOf(streamed, 10_000);
      await writeWithoutEnding(streamed, 1_500_000);
      const whileStreaming = await streamedResponse;
      expect(whileStreaming.status).toBe(413);
      expect(JSON.parse(whileStreaming.body)).toMatchObject({ code: 'BODY_TOO_LARGE' });
    } finally {
      // Unfinished requests would keep the server from closing.
      for (const request of requests) request.destroy();
      await api.stop();
    }
    expect(await countUsers(ctx)).toBe(0);
  });
});
