/**
 * The images generator's options, checked before the project is read. The
 * schema already refuses wrong types and enums; what is checked here is what
 * a JSON schema cannot say (a port nx passes through as 1.5, an image
 * reference, a command line) so a bad option stops with one line.
 */
import { readProjectConfiguration, Tree } from '@nx/devkit';
import { Accelerator, parseAccelerator } from '../../accelerator/accelerator';
import { fail } from '../../errors/errors';
import { ImageKind, ImagesGeneratorSchema } from './schema';

export interface ValidatedOptions {
  projectName: string;
  projectRoot: string;
  images: ImageKind[];
  /** --image was given: a missing training entry or app is an error, not a choice to make. */
  imagesExplicit: boolean;
  /** The BASE_IMAGE default, when --baseImage was given. */
  baseImage?: string;
  pythonVersion: string;
  port: number;
  healthPath?: string;
  readyPath?: string;
  appModule?: string;
  trainingModule?: string;
  trainingCommand?: string[];
  runtimeFiles: string[];
  excludeRuntimeFiles: string[];
  systemPackages: string[];
  accelerator: Accelerator;
  user: string;
  uid: number;
  sharedLibs: string[];
  overwrite: boolean;
  skipFormat: boolean;
}

const MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const APP_MODULE =
  /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$/;
const HEALTH_PATH = /^\/[A-Za-z0-9._~\-/]*$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
// Characters a Docker image reference allows (with an optional @sha256 digest).
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._\-/:]*(@sha256:[a-f0-9]{64})?$/;
const DEBIAN_PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const PROJECT_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._@+\-/]+$/;

export function projectRootOf(tree: Tree, project: string): string {
  try {
    return readProjectConfiguration(tree, project).root;
  } catch {
    fail(
      `Project "${project}" does not exist in this workspace. Check the name with: nx show projects`,
    );
  }
}

/** Splits a command line into arguments: quotes group, no shell runs it. */
export function splitCommand(command: string): string[] {
  const args: string[] = [];
  let current = '';
  let quote: string | undefined;
  let started = false;
  for (const ch of command) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (quote)
    fail(
      `--trainingCommand has an unclosed ${quote} quote (got ${JSON.stringify(command)}).`,
    );
  if (started) args.push(current);
  if (args.length === 0)
    fail('--trainingCommand is empty: give the command and its arguments.');
  return args;
}

export function validateOptions(
  tree: Tree,
  options: ImagesGeneratorSchema,
): ValidatedOptions {
  const projectRoot = projectRootOf(tree, options.project);
  const image = options.image ?? 'all';
  if (!['all', 'training', 'inference'].includes(image))
    fail(`--image must be all, training or inference (got "${image}").`);
  const images: ImageKind[] =
    image === 'all' ? ['training', 'inference'] : [image as ImageKind];

  const pythonVersion = pythonVersionOf(options.pythonVersion ?? '3.10');
  if (options.baseImage !== undefined && !IMAGE_REF.test(options.baseImage)) {
    fail(
      `--baseImage "${options.baseImage}" is not an image reference (e.g. python:3.10-slim or registry/path/image:tag).`,
    );
  }
  const port = options.port ?? 8000;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    fail(`--port must be an integer from 1 to 65535 (got ${port}).`);
  // Both are written into the Dockerfile (the HEALTHCHECK's Python string,
  // the labels): nothing in them may need quoting.
  for (const option of ['healthPath', 'readyPath'] as const) {
    const path = options[option];
    if (path !== undefined && !HEALTH_PATH.test(path))
      fail(
        `--${option} must start with / and hold only letters, digits and . _ ~ - / (got "${path}").`,
      );
  }
  if (
    options.trainingModule !== undefined &&
    !MODULE.test(options.trainingModule)
  )
    fail(
      `--trainingModule must be a dotted Python module such as src.model.train (got "${options.trainingModule}").`,
    );
  if (options.appModule !== undefined && !APP_MODULE.test(options.appModule))
    fail(
      `--appModule must look like package.module:app (got "${options.appModule}").`,
    );
  const user = options.user ?? 'mluser';
  if (!USER.test(user))
    fail(
      `--user must be a valid Linux user name such as mluser (got "${user}").`,
    );
  const uid = options.uid ?? 10001;
  if (!Number.isInteger(uid) || uid < 1000)
    fail(
      `--uid must be a number of at least 1000, so the user is not a system or root account (got ${uid}).`,
    );
  const systemPackages = splitList(options.systemPackages);
  for (const p of systemPackages)
    if (!DEBIAN_PACKAGE.test(p))
      fail(
        `--systemPackages: "${p}" is not a Debian package name (lowercase letters, digits and + . -, e.g. libpq5).`,
      );
  const runtimeFiles = splitList(options.runtimeFiles).map(cleanPath);
  const excludeRuntimeFiles = splitList(options.excludeRuntimeFiles).map(
    cleanPath,
  );
  for (const p of [...runtimeFiles, ...excludeRuntimeFiles])
    if (!PROJECT_PATH.test(p))
      fail(
        `"${p}" is not a path inside the project (relative, no .., no spaces): fix --runtimeFiles / --excludeRuntimeFiles.`,
      );
  for (const p of runtimeFiles)
    if (!tree.exists(`${projectRoot}/${p.replace(/\/$/, '')}`))
      fail(
        `--runtimeFiles names ${p}, which does not exist in ${projectRoot}. Check the path (relative to the project).`,
      );

  return {
    projectName: options.project,
    projectRoot,
    images,
    imagesExplicit: options.image !== undefined,
    baseImage: options.baseImage,
    pythonVersion,
    port,
    healthPath: options.healthPath,
    readyPath: options.readyPath,
    appModule: options.appModule,
    trainingModule: options.trainingModule,
    trainingCommand:
      options.trainingCommand !== undefined
        ? splitCommand(options.trainingCommand)
        : undefined,
    runtimeFiles,
    excludeRuntimeFiles,
    systemPackages,
    accelerator: parseAccelerator(options.accelerator ?? 'cpu'),
    user,
    uid,
    sharedLibs: splitList(options.sharedLibs),
    overwrite: options.overwrite ?? false,
    skipFormat: options.skipFormat ?? false,
  };
}

/** nx passes `--x=a,b` as one string and `--x=a --x=b` as an array: accept both. */
function splitList(value: string[] | string | undefined): string[] {
  const items = Array.isArray(value) ? value : value ? [value] : [];
  return items
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

function cleanPath(p: string): string {
  return p.replace(/^\.\//, '');
}

/**
 * nx's command line parses numbers, so --pythonVersion=3.13 arrives as 3.13
 * and --pythonVersion=3.10 as 3.1. Python 3.1 (2009) is no build target, and
 * no other minor version ends in 0 before 3.20, so the number 3.1 is 3.10.
 */
function pythonVersionOf(value: string | number): string {
  const text =
    typeof value === 'number'
      ? value === 3.1
        ? '3.10'
        : String(value)
      : value;
  if (!/^3\.\d{1,2}$/.test(text))
    fail(`--pythonVersion must look like 3.10 (got "${text}").`);
  return text;
}
