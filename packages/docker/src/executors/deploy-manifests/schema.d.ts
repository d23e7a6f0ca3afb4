export interface DeployManifestsExecutorSchema {
  image?: string;
  buildTarget?: string;
  pushTarget?: string;
  deployDir?: string;
}
