import { ExecutorContext } from '@nx/devkit';
import { deployTargetOptions, pinManifests } from '../../deploy/deploy-service';
import { runExecutor } from '../../errors/executor-boundary';
import { DeployManifestsExecutorSchema } from './schema';

/** Pins the deploy/ manifests to the tested, pushed digest (see deploy/pin). */
export default async function deployManifestsExecutor(
  options: DeployManifestsExecutorSchema,
  context: ExecutorContext,
) {
  return runExecutor('deploy-manifests', async () => {
    pinManifests(deployTargetOptions(context, options));
  });
}
