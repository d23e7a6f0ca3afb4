import { ExecutorContext } from '@nx/devkit';
import {
  checkManifests,
  deployTargetOptions,
} from '../../deploy/deploy-service';
import { runExecutor } from '../../errors/executor-boundary';
import { CheckManifestsExecutorSchema } from './schema';

/** Checks manifests against the image, one line per mismatch (see deploy/drift). */
export default async function checkManifestsExecutor(
  options: CheckManifestsExecutorSchema,
  context: ExecutorContext,
) {
  return runExecutor('check-manifests', async () => {
    checkManifests(deployTargetOptions(context, options), options.manifests);
  });
}
