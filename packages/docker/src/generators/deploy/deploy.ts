import { formatFiles, logger, Tree } from '@nx/devkit';
import { planDeploy } from '../../deploy/generate';
import { fail } from '../../errors/errors';
import { markGenerated } from '../../generated-files/generated-marker';
import {
  refuseConflicts,
  writeFiles,
} from '../../generated-files/generated-files';
import { DeployGeneratorSchema } from './schema';

const PLATFORMS = ['kubernetes', 'cloud-run'] as const;

/** Writes the manifests planDeploy computes, under the same edited/hand-written rules as the Dockerfiles. */
export async function deployGenerator(
  tree: Tree,
  options: DeployGeneratorSchema,
) {
  const platform = options.platform ?? 'kubernetes';
  if (!PLATFORMS.includes(platform))
    fail(`--platform must be kubernetes or cloud-run (got "${platform}").`);
  const plan = planDeploy(tree, {
    project: options.project,
    platform,
    image: options.image ?? 'inference',
    hpa: options.hpa ?? true,
  });
  for (const line of plan.notes) logger.info(`@ml/docker: ${line}`);
  refuseConflicts(tree, plan.files, options.overwrite ?? false, {
    generator: 'deploy',
    keep: 'Keep it (docker-check-manifests checks hand-written manifests against the image)',
  });
  writeFiles(tree, plan.files);
  if (options.skipFormat) return;
  await formatFiles(tree);
  // The workspace's prettier settings (quotes) may change what was written:
  // the checksum is of the file as formatted, so a rerun sees it unedited.
  for (const f of plan.files)
    tree.write(
      f.path,
      markGenerated(f.path, tree.read(f.path, 'utf-8')!, 'deploy'),
    );
}

export default deployGenerator;
