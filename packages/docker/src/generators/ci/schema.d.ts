export interface CiGeneratorSchema {
  /** Google Cloud region of the Artifact Registry repository. */
  region?: string;
  gcpProject: string;
  /** Artifact Registry repository. */
  repository?: string;
  /** Branch whose pushes push images; other events only test them. */
  branch?: string;
  workflowName?: string;
  /** Where buildx keeps every stage's layers: the registry (default) or GitHub Actions' cache. */
  cache?: 'registry' | 'gha';
  /** Artifact Registry Python repository (in the same project and region) that pip reads private packages from. */
  pythonRepository?: string;
  /** Artifact Registry repository for production: a tag v* or a manual run promotes the tested digests there. */
  prodRepository?: string;
  /** Google Cloud project of the production repository (default: gcpProject). */
  prodGcpProject?: string;
  skipFormat?: boolean;
}
