/**
 * Reads Dockerfiles with a real parser (dockerfile-ast), not regular
 * expressions: quoting and line continuations are the parser's business.
 */
import { DockerfileParser } from 'dockerfile-ast';

/** Every name an ARG instruction declares (one ARG may declare several: ARG A=1 B=2). */
export function declaredArgs(text: string): Set<string> {
  const names = new Set<string>();
  for (const arg of DockerfileParser.parse(text).getARGs()) {
    for (const property of arg.getProperties()) {
      const name = property.getName();
      if (name) names.add(name);
    }
  }
  return names;
}
