export type { PushOptions as PushExecutorSchema } from '../../registry/push-options';
