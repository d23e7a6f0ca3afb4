export interface DeployGeneratorSchema {
  project: string;
  platform?: 'kubernetes' | 'cloud-run';
  /** The serving image's folder under docker/. */
  image?: string;
  /** An HPA in the prod overlay. */
  hpa?: boolean;
  overwrite?: boolean;
  skipFormat?: boolean;
}
