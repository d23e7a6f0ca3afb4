import type { PushOptions } from '../../registry/push-options';

/** docker-push's options: a push of the recorded tags (a release's tags come from release-publish). */
export type PushExecutorSchema = Omit<PushOptions, 'tags'>;
