/** The lines the images generator prints about what inspection found. */
import { ProjectInspection } from './project-inspection';

/** The lines the generator prints before writing anything (warnings are printed apart, from inspection.warnings). */
export function summarize(inspection: ProjectInspection): string[] {
  const i = inspection;
  const lines: string[] = [];
  const layout = {
    'src-package': 'src/ package, imported as src.…',
    'top-level-packages':
      i.importRoot === 'src'
        ? 'modules under src/, imported without the src. prefix'
        : 'top-level packages and modules',
    installable: `installable package${i.importRoot === 'src' ? ' (src layout)' : ''}, pip install .`,
  }[i.layout];
  lines.push(`Layout: ${layout}`);
  lines.push(
    `Sources: ${i.sources.length ? i.sources.join(', ') : 'none beyond the installed package'}`,
  );
  const steps = [
    ...i.install.requirements.map((r) => `pip install -r ${r}`),
    ...(i.install.installable ? ['pip install .'] : []),
  ];
  lines.push(`Install: ${steps.length ? steps.join(', then ') : 'nothing'}`);
  if (i.install.excluded.length)
    lines.push(`Left out (dev only): ${i.install.excluded.join(', ')}`);
  if (i.install.optional.length)
    lines.push(`Not installed (optional): ${i.install.optional.join(', ')}`);
  if (i.frameworks.length) lines.push(`Frameworks: ${i.frameworks.join(', ')}`);
  if (i.app) {
    const routes = [
      i.healthPath &&
        (i.healthFrom === 'openapi' || i.healthFrom === 'get-route'
          ? `health: ${i.healthPath} (no liveness route found; ${i.healthFrom === 'openapi' ? "the app's OpenAPI document" : 'a GET route without parameters'} is probed; add a GET /health or pass --healthPath=<path>)`
          : `health ${i.healthPath}`),
      i.readyPath && `ready ${i.readyPath}`,
    ].filter(Boolean);
    lines.push(
      `App: ${i.app}${i.appFactory ? ' (factory: uvicorn --factory)' : ''}${routes.length ? ` (${routes.join(', ')})` : ''}`,
    );
  } else if (i.apps.length > 1) {
    lines.push(`Apps: ${i.apps.join(', ')} (none chosen)`);
  } else {
    lines.push('App: none found');
  }
  const t = i.training;
  lines.push(
    `Training: ${
      t.kind === 'dvc'
        ? `dvc repro (stages: ${t.stages.join(', ')})`
        : t.kind === 'module'
          ? `python -m ${t.module}`
          : t.kind === 'console-script'
            ? `${t.name} (console script)`
            : t.kind === 'command'
              ? t.command.join(' ')
              : 'none'
    }`,
  );
  const writable = [
    ...new Set([...i.writableFolders.training, ...i.writableFolders.inference]),
  ].sort();
  if (writable.length)
    lines.push(
      `Writable: ${writable.map((w) => `${w}/${i.writableFolders.where[w] ? ` (${i.writableFolders.where[w]})` : ''}`).join(', ')}`,
    );
  if (i.runtimeFiles.length)
    lines.push(`Runtime files: ${i.runtimeFiles.join(', ')}`);
  if (i.modelPaths.length)
    lines.push(
      `Model files: ${i.modelPaths.join(', ')}${i.modelsCommitted ? '' : ' (written by training)'}`,
    );
  return lines;
}
