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

export interface ImageUse {
  /** The image reference as written, with global ARG defaults substituted. */
  ref: string;
  via: 'FROM' | 'COPY --from';
  /** The global ARG whose default names the image, when the reference is `${ARG}`. */
  arg?: string;
}

/**
 * Every image a Dockerfile uses: FROM lines and COPY --from that name an
 * image rather than a stage, with `${ARG}` resolved from global ARG defaults.
 */
export function imageUses(text: string): ImageUse[] {
  const dockerfile = DockerfileParser.parse(text);
  const firstFrom = dockerfile.getFROMs()[0]?.getRange().start.line ?? Infinity;
  const defaults = new Map<string, string>();
  for (const arg of dockerfile.getARGs()) {
    if (arg.getRange().start.line > firstFrom) continue;
    for (const p of arg.getProperties()) {
      const value = p.getValue();
      if (p.getName() && value)
        defaults.set(p.getName(), value.replace(/^["']|["']$/g, ''));
    }
  }
  // $NAME, ${NAME}, ${NAME:-fallback}: the fallback counts only without a global ARG default.
  const VAR =
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;
  const value = (name: string, fallback?: string) =>
    defaults.get(name) ?? fallback ?? '';
  const resolve = (raw: string): { ref: string; arg?: string } => {
    const whole = raw.match(new RegExp(`^${VAR.source}$`));
    if (whole) {
      const name = whole[1] ?? whole[3];
      return { ref: value(name, whole[2]), arg: name };
    }
    return {
      ref: raw.replace(VAR, (_, braced, fallback, bare) =>
        value(braced ?? bare, fallback),
      ),
    };
  };
  const stages = new Set<string>();
  const uses: ImageUse[] = [];
  for (const from of dockerfile.getFROMs()) {
    const raw = from.getImage() ?? '';
    if (!stages.has(raw.toLowerCase())) {
      const { ref, arg } = resolve(raw);
      if (ref && ref !== 'scratch') uses.push({ ref, via: 'FROM', arg });
    }
    const stage = from.getBuildStage();
    if (stage) stages.add(stage.toLowerCase());
  }
  for (const copy of dockerfile.getCOPYs()) {
    // getFromFlag() answers null as soon as the COPY has any other flag
    // (dockerfile-ast 0.7): look --from up among all of them.
    const value = copy
      .getFlags()
      .find((f) => f.getName().toLowerCase() === 'from')
      ?.getValue();
    if (!value || stages.has(value.toLowerCase()) || /^\d+$/.test(value))
      continue;
    const { ref, arg } = resolve(value);
    if (ref) uses.push({ ref, via: 'COPY --from', arg });
  }
  return uses;
}

/** `registry:5000/a/b:tag@sha256:…` → `a/b`: the part that names the repository. */
export function repositoryPathOf(ref: string): string {
  let rest = ref.split('@')[0];
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) rest = rest.slice(0, colon);
  const parts = rest.split('/');
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0])) parts.shift();
  return parts.join('/');
}

/** The value of a LABEL the Dockerfile sets (the last one wins, as in the image). */
export function labelValue(text: string, key: string): string | undefined {
  let found: string | undefined;
  for (const label of DockerfileParser.parse(text).getInstructions()) {
    if (label.getKeyword() !== 'LABEL') continue;
    for (const p of (
      label as unknown as {
        getProperties(): Array<{
          getName(): string;
          getValue(): string | null;
        }>;
      }
    ).getProperties()) {
      if (p.getName() === key)
        found = (p.getValue() ?? '').replace(/^["']|["']$/g, '');
    }
  }
  return found;
}

/** What COPY instructions take from the build context (not from a stage or image), as written. */
export function contextSources(text: string): string[] {
  const sources: string[] = [];
  for (const copy of DockerfileParser.parse(text).getCOPYs()) {
    if (copy.getFlags().some((f) => f.getName().toLowerCase() === 'from'))
      continue;
    // The exec form (COPY ["src", "dest"]) is read as JSON, not as words.
    const json = copy.getJSONStrings().map((s) => s.getJSONValue());
    const args = json.length
      ? json
      : copy.getArguments().map((a) => a.getValue());
    sources.push(...args.slice(0, -1));
  }
  return sources;
}

export interface Stage {
  index: number;
  /** The name after AS, lowercased; undefined for an unnamed stage. */
  name?: string;
  /** Instructions of the stage that do work (RUN), which a cache can save. */
  runs: number;
  /** Stages (by name or index) this one builds on: its FROM and its COPY --from. */
  uses: string[];
}

/** The stages of a Dockerfile in order, with what each builds on. */
export function stagesOf(text: string): Stage[] {
  const dockerfile = DockerfileParser.parse(text);
  const froms = dockerfile.getFROMs();
  const stages: Stage[] = froms.map((from, index) => ({
    index,
    name: from.getBuildStage()?.toLowerCase(),
    runs: 0,
    uses: [(from.getImage() ?? '').toLowerCase()],
  }));
  const stageAt = (line: number) => {
    let current = -1;
    froms.forEach((f, i) => {
      if (f.getRange().start.line <= line) current = i;
    });
    return current;
  };
  for (const instruction of dockerfile.getInstructions()) {
    const i = stageAt(instruction.getRange().start.line);
    if (i < 0) continue;
    if (instruction.getKeyword() === 'RUN') stages[i].runs++;
  }
  for (const copy of dockerfile.getCOPYs()) {
    const i = stageAt(copy.getRange().start.line);
    const from = copy
      .getFlags()
      .find((f) => f.getName().toLowerCase() === 'from')
      ?.getValue();
    if (i >= 0 && from) stages[i].uses.push(from.toLowerCase());
  }
  return stages;
}

/**
 * The named stages the target (or last) stage needs, directly or through
 * others, that run something: the ones worth a cache image of their own.
 * In build order.
 */
export function cacheableStages(text: string, target?: string): string[] {
  const stages = stagesOf(text);
  const byRef = new Map<string, Stage>();
  for (const s of stages) {
    byRef.set(String(s.index), s);
    if (s.name) byRef.set(s.name, s);
  }
  const last = target ? byRef.get(target.toLowerCase()) : stages.at(-1);
  if (!last) return [];
  const needed = new Set<Stage>();
  const visit = (s: Stage) => {
    for (const u of s.uses) {
      const dep = byRef.get(u);
      if (dep && dep !== s && !needed.has(dep)) {
        needed.add(dep);
        visit(dep);
      }
    }
  };
  visit(last);
  return [...needed]
    .filter((s) => s.name && s.runs > 0)
    .sort((a, b) => a.index - b.index)
    .map((s) => s.name!);
}
