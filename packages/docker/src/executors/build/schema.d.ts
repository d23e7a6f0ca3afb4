export type {
  BuildOptions as BuildExecutorSchema,
  BuildSecretSource,
} from '../../build/build-options';
