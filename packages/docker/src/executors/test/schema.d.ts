export type {
  TestOptions as TestExecutorSchema,
  SmokeRequest,
  ServiceTestOptions,
  RouteOptions,
  JobTestOptions,
} from '../../containers/test-options';
