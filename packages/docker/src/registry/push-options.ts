/** The options of docker-push, as its target takes them. */
export interface PushOptions {
  buildTarget?: string;
  images?: string[];
  /** Say what would be pushed; push nothing. */
  dryRun?: boolean;
  /** Attempts per tag for transient failures. */
  retries?: number;
}
