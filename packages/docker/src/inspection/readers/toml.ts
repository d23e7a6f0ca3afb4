/**
 * TOML documents (pyproject.toml) read with smol-toml: TOML 1.0 compliant,
 * maintained, and the TOML parser nx itself depends on, so the plugin adds no
 * parser of its own to keep in step with the spec.
 */
import { parse, TomlDate, TomlError as SmolTomlError } from 'smol-toml';

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;

export interface TomlTable {
  [key: string]: TomlValue;
}

/** Why a document is not valid TOML, with the 1-based line it was found on. */
export class TomlError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'TomlError';
  }
}

/** Parses a TOML document; throws TomlError on the first problem. Dates come back as ISO text: nothing here needs them as dates. */
export function parseToml(text: string): TomlTable {
  // tomllib refuses a BOM too, but says only "Invalid statement".
  if (text.startsWith('\ufeff'))
    throw new TomlError(
      'the file starts with a byte order mark (BOM), which pip refuses: save it as UTF-8 without BOM',
      1,
    );
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    if (!(e instanceof SmolTomlError)) throw e;
    const reason = e.message
      .split('\n')[0]
      .replace(/^Invalid TOML document:\s*/, '');
    throw new TomlError(reason, e.line);
  }
  return plain(doc) as TomlTable;
}

function plain(value: unknown): TomlValue {
  if (value instanceof TomlDate) return value.toISOString();
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    const out: TomlTable = {};
    // defineProperty: a "__proto__" key stays a key.
    for (const [k, v] of Object.entries(value))
      Object.defineProperty(out, k, {
        value: plain(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return value as TomlValue;
}

export function isTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
