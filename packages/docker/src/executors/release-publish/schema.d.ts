import type { ReleaseVersionData } from '../../release/publish';

export interface ReleasePublishExecutorSchema {
  buildTarget?: string;
  images?: string[];
  /** Say what would be tagged and pushed; change nothing. */
  dryRun?: boolean;
  /** Attempts per tag for transient failures. */
  retries?: number;
  /** Set by nx release: the versions this run chose. */
  nxReleaseVersionData?: ReleaseVersionData;
  firstRelease?: boolean;
}
