import type { DeployManifestsExecutorSchema } from '../deploy-manifests/schema';

export interface CheckManifestsExecutorSchema extends DeployManifestsExecutorSchema {
  manifests?: string[];
}
