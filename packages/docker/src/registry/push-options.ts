/** The options of a push: docker-push's, and what a release adds. */
export interface PushOptions {
  buildTarget?: string;
  images?: string[];
  /** Say what would be pushed; push nothing. */
  dryRun?: boolean;
  /** Attempts per tag for transient failures. */
  retries?: number;
  /**
   * Push each recorded image under these tags instead of its recorded ones
   * (tagging it locally first), without its cache images: what a release
   * publishes. The push record then keeps the earlier pushes beside these.
   */
  tags?: string[];
}
