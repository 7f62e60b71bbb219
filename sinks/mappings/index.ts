import type { Mapping } from '../mapping';
import { contactChannelsMapping } from './contact-channels';
import { usersMapping } from './users';

/** The default mappings every external database gets (DESIGN.md "External databases and mappings"). */
export const defaultMappings: readonly Mapping[] = [usersMapping, contactChannelsMapping];
