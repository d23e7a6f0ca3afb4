// Moved to inspection/: kept so existing importers keep working.
export { readPyproject, TomlError } from '../inspection/pyproject';
export type { Pyproject } from '../inspection/pyproject';
export { parseToml, isTable } from '../inspection/readers/toml';
export type { TomlTable, TomlValue } from '../inspection/readers/toml';
