import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { SecretBox } from '../schema/secret-box';
import type * as tables from '../schema/tables';
import type { TargetStatus } from '../sinks/target-worker';

export type AccessType = 'client' | 'server' | 'admin';

export type Database = NodePgDatabase<typeof tables>;

/** What the routes need from the process: injected, so tests build the app around their own database. */
export interface ApiDependencies {
  db: Database;
  secrets: SecretBox;
  /** Credential that may create projects (STACK_INTERNAL_ADMIN_KEY). */
  internalAdminKey: string;
  /** External database sync states, when a sink runs in this process. */
  syncStatus?: () => TargetStatus[];
}

/** The project a request is authenticated for. */
export interface RequestProject {
  id: string;
  tenancyId: string;
  accessType: AccessType;
}

export interface ApiEnv {
  Variables: {
    deps: ApiDependencies;
    project: RequestProject;
  };
}
