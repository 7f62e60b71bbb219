import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, testServices, uniqueName, withClient } from '../e2e/harness/test-services';
import { migrateInternalDatabase, migrationsFolder } from './migrate';

/** A copy of the migrations folder whose journal stops before `firstLeftOut`. */
async function migrationsBefore(firstLeftOut: string): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
  await cp(migrationsFolder, folder, { recursive: true });
  const journalFile = path.join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalFile, 'utf8')) as { entries: { tag: string }[] };
  const cut = journal.entries.findIndex((entry) => entry.tag.startsWith(firstLeftOut));
  expect(cut).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, cut);
  await writeFile(journalFile, JSON.stringify(journal));
  return folder;
}

describe('migration 0005: one account per mailbox', () => {
  it('lower-cases stored emails and leaves one sign-in channel per address, reporting the others', async () => {
    const { internalAdminUrl } = testServices();
    const name = uniqueName();
    const url = await createDatabase(internalAdminUrl, name);
    const older = await migrationsBefore('0005_');
    try {
      await migrateInternalDatabase(url, { migrationsFolder: older });
      const tenancyId = '00000000-0000-4000-8000-000000000001';
      const users = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-0000000000a3', '00000000-0000-4000-8000-0000000000a4'];
      await withClient(url, async (client) => {
        await client.query(`INSERT INTO "Project" (id, "displayName", "publishableClientKeyHash", "secretServerKeyHash", "superSecretAdminKeyHash") VALUES ('p', 'p', 'x', 'x', 'x')`);
        await client.query(`INSERT INTO "Tenancy" (id, "projectId", "branchId") VALUES ($1, 'p', 'main')`, [tenancyId]);
        for (const user of users) await client.query(`INSERT INTO "ProjectUser" ("tenancyId", "projectUserId") VALUES ($1, $2)`, [tenancyId, user]);
        // What the old API let through: three sign-in accounts for one mailbox, and a padded address.
        const rows: [string, string, string, boolean, boolean, string][] = [
          [users[0]!, '00000000-0000-4000-8000-0000000000c1', 'Mixed@Example.com', true, false, '2026-01-01'],
          [users[1]!, '00000000-0000-4000-8000-0000000000c2', 'mixed@example.com', true, true, '2026-01-02'],
          [users[2]!, '00000000-0000-4000-8000-0000000000c3', 'MIXED@EXAMPLE.COM', true, false, '2026-01-03'],
          [users[3]!, '00000000-0000-4000-8000-0000000000c4', ' Alone@Example.com ', true, false, '2026-01-04'],
          [users[3]!, '00000000-0000-4000-8000-0000000000c5', 'Contact@Example.com', false, false, '2026-01-05'],
        ];
        for (const [user, id, value, usedForAuth, verified, createdAt] of rows) {
          await client.query(
            `INSERT INTO "ContactChannel" ("tenancyId", "projectUserId", id, type, value, "usedForAuth", "isVerified", "createdAt") VALUES ($1, $2, $3, 'EMAIL', $4, $5, $6, $7)`,
            [tenancyId, user, id, value, usedForAuth ? 'TRUE' : null, verified, createdAt],
          );
        }
      });

      const notices: string[] = [];
      await migrateInternalDatabase(url, { onNotice: (message) => notices.push(message) });

      const channels = await withClient(url, async (client) =>
        (await client.query<{ id: string; value: string; usedForAuth: string | null }>(`SELECT id, value, "usedForAuth" FROM "ContactChannel" ORDER BY id`)).rows,
      );
      expect(channels).toEqual([
        { id: '00000000-0000-4000-8000-0000000000c1', value: 'mixed@example.com', usedForAuth: null },
        // The verified one keeps signing in.
        { id: '00000000-0000-4000-8000-0000000000c2', value: 'mixed@example.com', usedForAuth: 'TRUE' },
        { id: '00000000-0000-4000-8000-0000000000c3', value: 'mixed@example.com', usedForAuth: null },
        { id: '00000000-0000-4000-8000-0000000000c4', value: 'alone@example.com', usedForAuth: 'TRUE' },
        { id: '00000000-0000-4000-8000-0000000000c5', value: 'contact@example.com', usedForAuth: null },
      ]);
      expect(notices).toHaveLength(1);
      expect(notices[0]).toContain('AUTH_EMAIL_CONFLICT: 2 ');
      expect(notices[0]).toContain(`${tenancyId}/00000000-0000-4000-8000-0000000000c1`);
      expect(notices[0]).toContain(`${tenancyId}/00000000-0000-4000-8000-0000000000c3`);

      // From now on the database itself refuses a second sign-in channel for the mailbox.
      const refused = await withClient(url, (client) =>
        client
          .query(`UPDATE "ContactChannel" SET "usedForAuth" = 'TRUE', value = 'MIXED@example.com' WHERE id = '00000000-0000-4000-8000-0000000000c3'`)
          .then(() => undefined, (error: { code?: string; constraint?: string }) => error),
      );
      expect(refused).toMatchObject({ code: '23505', constraint: 'ContactChannel_auth_email_key' });
    } finally {
      await rm(older, { recursive: true, force: true });
      await dropDatabase(internalAdminUrl, name);
    }
  });
});
