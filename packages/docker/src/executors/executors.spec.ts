import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// What Nx loads: every executor and generator the package declares must
// resolve to a function and a schema, or the task dies with "implementation
// is not a function" in a user's workspace.
const PACKAGE = join(__dirname, '..', '..');
const declared = (file: string, key: string) =>
  Object.entries(
    JSON.parse(readFileSync(join(PACKAGE, file), 'utf8'))[key] as Record<
      string,
      { implementation?: string; factory?: string; schema: string }
    >,
  );

describe('the declared executors and generators', () => {
  it.each(declared('executors.json', 'executors'))(
    'executor %s has an implementation exported as default and a schema',
    (_name, entry) => {
      const impl = jest.requireActual(join(PACKAGE, entry.implementation!));
      expect(typeof impl.default).toBe('function');
      expect(existsSync(join(PACKAGE, entry.schema))).toBe(true);
    },
  );

  it.each(declared('generators.json', 'generators'))(
    'generator %s has its factory and a schema',
    (_name, entry) => {
      const [file, exported] = entry.factory!.split('#');
      const mod = jest.requireActual(join(PACKAGE, file));
      expect(typeof (exported ? mod[exported] : mod.default)).toBe('function');
      expect(existsSync(join(PACKAGE, entry.schema))).toBe(true);
    },
  );
});
