import { randomUUID } from 'node:crypto';
import { and, desc, eq, gt, isNull, or } from 'drizzle-orm';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { signingKey } from '../../schema/auth-tables';
import type { SecretBox } from '../../schema/secret-box';
import type { Database } from '../api-env';

// A retired key may keep verifying for this long past its publication window: seconds, not minutes.
const verificationCacheMs = 5_000;

export interface ActiveSigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/**
 * Each project signs its access tokens with its own ES256 key. Rotation adds a key and retires the
 * previous one: a retired key signs nothing more but stays in the JWKS for `publishForSeconds`, so
 * tokens it signed keep verifying until they expire.
 */
export class SigningKeys {
  /** Verification keys per project, so checking a token does not read the database every time. */
  readonly #verificationCache = new Map<string, { jwks: { keys: JWK[] }; fetchedAt: number }>();

  constructor(
    private readonly db: Database,
    private readonly secrets: SecretBox,
    /** How long a retired key's public half stays published: the access token lifetime. */
    private readonly publishForSeconds: number,
  ) {}

  async active(projectId: string): Promise<ActiveSigningKey> {
    const [row] = await this.db
      .select()
      .from(signingKey)
      .where(and(eq(signingKey.projectId, projectId), isNull(signingKey.retiredAt)))
      .orderBy(desc(signingKey.createdAt))
      .limit(1);
    if (row) return this.#load(row.kid, row.privateJwkSealed);
    return this.rotate(projectId);
  }

  /** Makes a new key the signing key and retires the others. */
  async rotate(projectId: string): Promise<ActiveSigningKey> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    const privateJwk = await exportJWK(privateKey);
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    await this.db.transaction(async (tx) => {
      await tx
        .update(signingKey)
        .set({ retiredAt: new Date() })
        .where(and(eq(signingKey.projectId, projectId), isNull(signingKey.retiredAt)));
      await tx.insert(signingKey).values({ kid, projectId, privateJwkSealed: this.secrets.seal(JSON.stringify(privateJwk)), publicJwk });
    });
    this.#verificationCache.delete(projectId);
    return { kid, privateKey: privateKey as CryptoKey };
  }

  /**
   * The public keys for verifying tokens, cached for a few seconds. A token with a kid the cache
   * lacks (a key rotated in by another process) asks for `fresh` keys instead of failing.
   */
  async verificationJwks(projectId: string, fresh = false): Promise<{ keys: JWK[] }> {
    const cached = this.#verificationCache.get(projectId);
    if (!fresh && cached && Date.now() - cached.fetchedAt < verificationCacheMs) return cached.jwks;
    const jwks = await this.publicJwks(projectId);
    if (this.#verificationCache.size > 10_000) this.#verificationCache.clear();
    this.#verificationCache.set(projectId, { jwks, fetchedAt: Date.now() });
    return jwks;
  }

  /** The project's public keys that may have signed an unexpired token. */
  async publicJwks(projectId: string): Promise<{ keys: JWK[] }> {
    const publishedSince = new Date(Date.now() - this.publishForSeconds * 1000);
    const rows = await this.db
      .select({ publicJwk: signingKey.publicJwk })
      .from(signingKey)
      .where(and(eq(signingKey.projectId, projectId), or(isNull(signingKey.retiredAt), gt(signingKey.retiredAt, publishedSince))))
      .orderBy(desc(signingKey.createdAt));
    return { keys: rows.map((row) => row.publicJwk as JWK) };
  }

  async #load(kid: string, sealed: string): Promise<ActiveSigningKey> {
    const jwk = JSON.parse(this.secrets.open(sealed)) as JWK;
    const privateKey = await importJWK(jwk, 'ES256');
    return { kid, privateKey: privateKey as CryptoKey };
  }
}
