// Changes to drizzle-orm 0.45.4 (node-postgres driver). Reported upstream and still open there
// (drizzle-team/drizzle-orm#6023, #6114, #6241): `transaction()` ran BEGIN outside the
// try/finally that releases the pooled client, so a BEGIN that failed (the connection cut by a
// database crash or restart) kept the client checked out for the life of the process: one pool
// slot lost per failure, until every request waited for a connection that never came. And a
// client whose ROLLBACK failed went back to the pool as if healthy.
// `apply.mjs` applies them after every install and refuses a drizzle-orm whose text differs.

export const packageName = 'drizzle-orm';
export const packageVersion = '0.45.4';

/** The same change in the ESM and the CommonJS build; `sqlTag` is how each build names `sql`. */
function transactionPatch(file, sqlTag) {
  return {
    file,
    why: 'A failed BEGIN leaked its pooled client (e2e/internal-postgres-restart.solo.test.ts: the API pool could not end after the database crashed); a client whose BEGIN or ROLLBACK failed is now released with the error, so pg-pool destroys it, and the transaction\'s own error reaches the caller.',
    find: `    await tx.execute(${sqlTag}\`begin\${config ? ${sqlTag}\` \${tx.getTransactionConfigSQL(config)}\` : void 0}\`);
    try {
      const result = await transaction(tx);
      await tx.execute(${sqlTag}\`commit\`);
      return result;
    } catch (error) {
      await tx.execute(${sqlTag}\`rollback\`);
      throw error;
    } finally {
      if (isPool) session.client.release();
    }`,
    replace: `    // stack-sync: a client whose BEGIN or ROLLBACK failed is released with the error (destroyed).
    try {
      await tx.execute(${sqlTag}\`begin\${config ? ${sqlTag}\` \${tx.getTransactionConfigSQL(config)}\` : void 0}\`);
    } catch (error) {
      if (isPool) session.client.release(error);
      throw error;
    }
    let broken;
    try {
      const result = await transaction(tx);
      await tx.execute(${sqlTag}\`commit\`);
      return result;
    } catch (error) {
      try {
        await tx.execute(${sqlTag}\`rollback\`);
      } catch (rollbackError) {
        broken = rollbackError;
      }
      throw error;
    } finally {
      if (isPool) session.client.release(broken);
    }`,
  };
}

export const patches = [transactionPatch('node-postgres/session.js', 'sql'), transactionPatch('node-postgres/session.cjs', 'import_sql.sql')];
