import { eq } from 'drizzle-orm';
import { storedProjectConfigSchema, type StoredProjectConfig } from '../schema/project-config';
import { project } from '../schema/tables';
import type { Database } from './api-env';

/** A project's config with every default filled in. */
export async function loadProjectConfig(db: Pick<Database, 'select'>, projectId: string): Promise<StoredProjectConfig> {
  const [row] = await db.select({ config: project.config }).from(project).where(eq(project.id, projectId));
  return storedProjectConfigSchema.parse(row?.config ?? {});
}
