/** The options of docker-train, as its target takes them. */
export interface TrainOptions {
  /** The image key (folder under docker/) whose run produces the model. */
  image?: string;
  /** The build target whose options the training image is built with. */
  buildTarget?: string;
  /** Folders the run writes; default: the image's ml-docker.outputs label. */
  outputs?: string[];
  env?: Record<string, string>;
  /** Command and args replacing the image's CMD. */
  command?: string[];
  /** Seconds the run may take. */
  timeout?: number;
}
