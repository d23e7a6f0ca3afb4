/**
 * How the project is laid out: where Python imports its modules from
 * ('.' or src/) and whether it is imported as src.…, installed, or run from
 * top-level packages.
 */
import { InspectOptions, ProjectInspection } from './project-inspection';
import { NON_SOURCE, NON_SOURCE_FILE, ProjectFiles } from './project-files';

export interface Layout {
  layout: ProjectInspection['layout'];
  importRoot: ProjectInspection['importRoot'];
}

/** install: what pip install . finds (installable, and whether it builds from src/). */
export function readLayout(
  files: ProjectFiles,
  options: InspectOptions,
  install: { installable: boolean; srcLayout: boolean },
): Layout {
  const srcPrefix = usesSrcPrefix(files, options);
  const importRoot =
    install.srcLayout ||
    (!install.installable && !srcPrefix && srcHoldsTopLevelModules(files))
      ? 'src'
      : '.';
  const layout: Layout['layout'] = install.installable
    ? 'installable'
    : importRoot === '.' && srcPrefix
      ? 'src-package'
      : 'top-level-packages';
  return { layout, importRoot };
}

/** The code imports src.x, or a command runs python -m src.x. */
function usesSrcPrefix(files: ProjectFiles, options: InspectOptions): boolean {
  if (!files.isDir('src')) return false;
  if (files.isFile('src/__init__.py')) return true;
  const o = options;
  if (o.appModule?.startsWith('src.') || o.trainingModule?.startsWith('src.'))
    return true;
  if ((o.trainingCommand ?? []).some((a) => /^src\./.test(a))) return true;
  const dvc = files.read('dvc.yaml') ?? '';
  if (/-m\s+src\./.test(dvc)) return true;
  return files
    .pyFiles()
    .some((p) =>
      /^\s*(from\s+src(\.|\s)|import\s+src(\.|\s|$))/m.test(
        files.read(p) ?? '',
      ),
    );
}

/** src/ holds the code but is no package: its modules import each other top-level. */
function srcHoldsTopLevelModules(files: ProjectFiles): boolean {
  if (!files.isDir('src')) return false;
  const under = files.filesUnder('src').filter((p) => p.endsWith('.py'));
  if (!under.length) return false;
  const rootCode = files
    .children('')
    .some(
      (n) =>
        !NON_SOURCE.has(n) &&
        n !== 'src' &&
        !NON_SOURCE_FILE.test(n) &&
        ((n.endsWith('.py') && files.isFile(n)) ||
          files.isFile(`${n}/__init__.py`)),
    );
  return !rootCode;
}
