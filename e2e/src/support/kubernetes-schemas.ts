/**
 * Validates manifests against the Kubernetes API schema (kubernetes-models,
 * generated from the OpenAPI of a current Kubernetes release, 1.34 fields
 * such as restartPolicyRules included) and Knative serving's
 * (@kubernetes-models/knative, from Knative's CRDs). Both are maintained,
 * validate at run time with ajv, and need no cluster or network. They ship
 * as ES modules only, so a child `node` imports them by file: jest's CommonJS
 * runtime cannot.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const repoRoot = join(__dirname, '..', '..', '..');

function packageDir(name: string): string {
  const roots = [
    join(repoRoot, 'node_modules'),
    ...(process.env.NODE_PATH ?? '').split(delimiter).filter(Boolean),
  ];
  const dir = roots
    .map((r) => join(r, name))
    .find((d) => existsSync(join(d, 'package.json')));
  if (!dir)
    throw new Error(
      `${name} is not installed (looked in ${roots.join(', ')}): it is a devDependency of this repository; run npm install.`,
    );
  return dir;
}

/** The model module for an apiVersion and kind, or undefined when neither package has it. */
function modelFile(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/')
    ? apiVersion.split('/')
    : ['', apiVersion];
  const file = group.endsWith('knative.dev')
    ? join(
        packageDir('@kubernetes-models/knative'),
        group,
        version,
        `${kind}.js`,
      )
    : join(packageDir('kubernetes-models'), group, version, `${kind}.js`);
  return existsSync(file) ? file : undefined;
}

const SCRIPT = `
const docs = JSON.parse(process.argv[1]);
const errors = [];
for (const { file, doc } of docs) {
  const mod = await import(file);
  try { new mod[doc.kind](doc).validate(); }
  catch (e) { errors.push(doc.kind + '/' + (doc.metadata?.name ?? '?') + ': ' + e.message); }
}
process.stdout.write(JSON.stringify(errors));
`;

/** Every schema error of the documents, one string each; an unknown kind is an error too. */
export function schemaErrors(docs: object[]): string[] {
  const errors: string[] = [];
  const known: Array<{ file: string; doc: object }> = [];
  for (const doc of docs as Array<{ apiVersion: string; kind: string }>) {
    const file = modelFile(doc.apiVersion, doc.kind);
    if (file) known.push({ file: pathToFileURL(file).href, doc });
    else errors.push(`${doc.apiVersion} ${doc.kind}: no schema for this kind`);
  }
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', SCRIPT, JSON.stringify(known)],
    { encoding: 'utf8' },
  );
  return [...errors, ...(JSON.parse(out) as string[])];
}
