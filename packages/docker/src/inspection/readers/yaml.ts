/**
 * YAML documents (dvc.yaml) read with the `yaml` package: the YAML 1.2
 * reference implementation for JavaScript, and the one nx itself depends on.
 * Merge keys (`<<: *base`) are on because dvc's own reader honours them.
 */
import { isNode, LineCounter, parseDocument } from 'yaml';

/** Why a document is not valid YAML, with the 1-based line it was found on. */
export class YamlError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'YamlError';
  }
}

export interface YamlDocument {
  /** The document as plain data (aliases and merge keys resolved). */
  value: unknown;
  /** The 1-based line of the node at path, or of its nearest ancestor that has one. */
  lineOf(path: Array<string | number>): number;
}

/** Parses one YAML document; throws YamlError on the first error. */
export function parseYaml(text: string): YamlDocument {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    merge: true,
    lineCounter: lines,
    prettyErrors: false,
  });
  const [error] = doc.errors;
  if (error)
    throw new YamlError(
      error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''),
      lines.linePos(error.pos[0]).line,
    );
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // An alias without its anchor, or aliases expanding past the limit.
    if (!(e instanceof ReferenceError)) throw e;
    const alias = /: (\S+)$/.exec(e.message)?.[1];
    const at = alias ? text.indexOf(`*${alias}`) : -1;
    throw new YamlError(e.message, at < 0 ? 1 : lines.linePos(at).line);
  }
  return {
    value,
    lineOf(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range)
          return lines.linePos(node.range[0]).line;
      }
      return 1;
    },
  };
}
