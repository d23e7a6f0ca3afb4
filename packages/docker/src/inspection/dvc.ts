/**
 * The typed view of dvc.yaml: the stages, what each runs and reads, read
 * from the document readers/yaml.ts parses (anchors, aliases and merge keys
 * resolved as dvc resolves them).
 */
import { parseYaml, YamlError } from './readers/yaml';
import { ShellCommand, shellCommands } from './readers/shell';

export interface DvcStage {
  name: string;
  /** The line the stage starts on, for messages. */
  line: number;
  /** The commands its cmd runs, each with the folder it runs in (wdir, then any cd). */
  commands: ShellCommand[];
  deps: string[];
  /** outs, metrics and plots. */
  outs: string[];
  paramsFiles: string[];
  wdir: string;
}

export interface DvcRead {
  stages: DvcStage[];
  /** What could not be read, each naming file:line and what to do. */
  warnings: string[];
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Entries of a deps/outs list: strings, or the single key of `- path: {options}`. */
function paths(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value == null ? [] : [value];
  return items.flatMap((v) =>
    isMapping(v)
      ? Object.keys(v)
      : typeof v === 'string' || typeof v === 'number'
        ? [String(v)]
        : [],
  );
}

/** Reads dvc.yaml's text; never throws: what it cannot read becomes a warning. */
export function readDvcStages(text: string, file = 'dvc.yaml'): DvcRead {
  const warnings: string[] = [];
  let doc: ReturnType<typeof parseYaml>;
  try {
    doc = parseYaml(text);
  } catch (e) {
    if (!(e instanceof YamlError)) throw e;
    return {
      stages: [],
      warnings: [
        `${file}:${e.line}: not valid YAML (${e.reason}), so its stages were not read and dvc repro would fail on it too. Fix it, then rerun.`,
      ],
    };
  }
  const stages = isMapping(doc.value) ? doc.value['stages'] : undefined;
  if (stages === undefined || stages === null) return { stages: [], warnings };
  if (!isMapping(stages))
    return {
      stages: [],
      warnings: [
        `${file}:${doc.lineOf(['stages'])}: stages is not a mapping of stage names to stages, so none was read. Fix it, then rerun.`,
      ],
    };
  const read = Object.entries(stages).map(([name, raw]): DvcStage => {
    const line = doc.lineOf(['stages', name]);
    let stage = isMapping(raw) ? raw : {};
    // foreach/do: the body's fields, with ${item} left as text.
    if (isMapping(stage['do'])) stage = { ...stage['do'], ...stage };
    const wdir = typeof stage['wdir'] === 'string' ? stage['wdir'] : '.';
    const cmd = stage['cmd'];
    const scripts = Array.isArray(cmd) ? cmd : cmd == null ? [] : [cmd];
    const commands: ShellCommand[] = [];
    for (const script of scripts) {
      if (typeof script !== 'string') {
        warnings.push(
          `${file}:${doc.lineOf(['stages', name, 'cmd'])}: the ${name} stage's cmd is not text, so what it runs was not read. Quote it, then rerun.`,
        );
        continue;
      }
      const shell = shellCommands(script, wdir);
      commands.push(...shell.commands);
      for (const what of shell.unresolved)
        warnings.push(
          `${file}:${doc.lineOf(['stages', name, 'cmd'])}: the ${name} stage's cmd uses ${what}, which the inspection does not follow: files reached only through it are not copied. Add any the stage needs with --runtimeFiles.`,
        );
    }
    const params = stage['params'];
    const paramsFiles = (Array.isArray(params) ? params : []).flatMap((p) =>
      typeof p === 'string'
        ? ['params.yaml']
        : isMapping(p)
          ? Object.keys(p)
          : [],
    );
    return {
      name,
      line,
      commands,
      deps: paths(stage['deps']),
      outs: [
        ...paths(stage['outs']),
        ...paths(stage['metrics']),
        ...paths(stage['plots']),
      ],
      paramsFiles: [...new Set(paramsFiles)],
      wdir,
    };
  });
  return { stages: read, warnings };
}
