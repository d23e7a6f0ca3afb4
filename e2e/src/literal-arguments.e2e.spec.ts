/**
 * Build args, labels and tags go to docker as argv entries, never through a
 * shell: a value reaches the image byte for byte whatever it holds, nothing
 * in it is ever run on the host, and a tag docker could misread is refused
 * before anything is built.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildRecord } from '../../packages/docker/src/record/build-record';
import { expectFailure } from './support/failure-modes';
import { docker, imageIdOf, Ran, uniqueId } from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

describe('build args, labels and tags are passed literally, with no shell', () => {
  const id = uniqueId('lit');
  const project = `lit-${id}`;
  const root = `apps/${project}`;
  const repository = `e2e-${id}`;
  // Any shell on the way, on the host or in a RUN step, would create it.
  const sentinel = `/tmp/${id}-pwned`;
  const touch = `touch ${sentinel}`;
  const label = 'org.example.weird';
  let ws: Workspace;
  let probes = 0;

  // [what, value]: each on its own would change a command line run through a shell.
  const VALUES: Array<[string, string]> = [
    ['spaces and a tab', '  two  words\tand a tab  '],
    ['a semicolon', `ok; ${touch}`],
    ['&&', `ok && ${touch}`],
    ['a pipe', `ok | ${touch}`],
    ['backticks', `\`${touch}\``],
    ['$(…)', `$(${touch})`],
    ['$HOME and ${HOME}', '$HOME and ${HOME}'],
    ['single and double quotes', `it's "quoted"`],
    ['a value wrapped in quotes', '"wrapped"'],
    ['backslashes', 'C:\\dir\\n\\t\\'],
    ['a newline', 'line one\nline two'],
    ['unicode', 'héllo ✓ 日本語 🐳'],
    ['what looks like a flag', '--no-cache'],
    ['a glob', '*'],
    ['equals signs', 'a=b=c'],
    ['a number', '3.10'],
    ['nothing', ''],
  ];

  const build = (target: string, args: string[] = []) =>
    ws.nx(['run', `${project}:${target}`, '--skip-nx-cache', ...args], {
      allowFail: true,
    });
  /** The build succeeded; else its output, which says why. */
  const expectBuilt = (r: Ran) => {
    if (r.status !== 0)
      throw new Error(`build exited ${r.status}:\n${r.all.slice(-3000)}`);
  };
  const recordPath = (outputPath: string) =>
    join(ws.root, outputPath, 'build-record.json');
  const recordText = (outputPath: string) =>
    existsSync(recordPath(outputPath))
      ? readFileSync(recordPath(outputPath), 'utf8')
      : undefined;
  const recordedImage = (outputPath: string) => {
    const record: BuildRecord = JSON.parse(
      readFileSync(recordPath(outputPath), 'utf8'),
    );
    expect(record.images).toHaveLength(1);
    const [image] = record.images;
    return { ...image, ref: `${image.name}:${image.contentTag}` };
  };
  /** Runs a command in the image: no network needed, container removed whatever happens. */
  const inImage = (ref: string, command: string[]) => {
    const name = `${id}-probe-${++probes}`;
    try {
      return docker(
        [
          'run',
          '--rm',
          '--name',
          name,
          '--network',
          'none',
          '--entrypoint',
          command[0],
          ref,
          ...command.slice(1),
        ],
        { allowFail: true },
      );
    } finally {
      docker(['rm', '-f', name], { allowFail: true });
    }
  };
  const labelsOf = (ref: string): Record<string, string> =>
    JSON.parse(
      docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', ref])
        .stdout,
    );

  /** What every route must leave: the value in the file and the label, and no sentinel anywhere. */
  const expectLiteral = (
    outputPath: string,
    value: string,
    labelKey: string,
  ) => {
    const image = recordedImage(outputPath);
    // The record names the image that carries the value; it keeps no copy of
    // build args or labels, and no value leaks into its tags.
    expect(image.imageId).toBe(imageIdOf(image.ref));
    expect(image.tags).toEqual([image.contentTag]);
    const weird = inImage(image.ref, ['cat', '/weird.txt']);
    expect(weird.status).toBe(0);
    expect(weird.stdout).toBe(value);
    expect(labelsOf(image.ref)[labelKey]).toBe(value);
    expect(existsSync(sentinel)).toBe(false);
    expect(inImage(image.ref, ['test', '-e', sentinel]).status).toBe(1);
  };

  const common = { repository, latest: false, gitShaTag: false };
  const optionsTarget = (i: number) => `build-options-${i}`;
  const TAG_CASES: string[][] = [
    ['ok-1', 'bad tag'],
    ['x;rm -rf ~'],
    ['$(id)'],
    ['a\nb'],
  ];

  beforeAll(() => {
    ws = freshWorkspace();
    const targets: Record<string, unknown> = {
      // The command-line route: nothing but the naming, the rest from argv.
      'build-cli': {
        executor: '@ml/docker:build',
        options: { ...common, outputPath: 'dist/lit/cli' },
      },
    };
    VALUES.forEach(([, value], i) => {
      targets[optionsTarget(i)] = {
        executor: '@ml/docker:build',
        options: {
          ...common,
          outputPath: `dist/lit/options-${i}`,
          buildArgs: { WEIRD: value },
          labels: { [label]: value },
        },
      };
    });
    TAG_CASES.forEach((tags, i) => {
      targets[`build-tags-${i}`] = {
        executor: '@ml/docker:build',
        options: {
          ...common,
          repository: `${repository}-tags`,
          outputPath: `dist/lit/tags-${i}`,
          tags,
        },
      };
    });
    ws.imageProject(
      root,
      'weird',
      [
        'ARG WEIRD',
        // The image's own shell expands "$WEIRD" once and runs nothing inside it.
        `RUN printf '%s' "$WEIRD" > /weird.txt`,
      ],
      targets,
    );
    ws.commitAll('a project that writes its build arg to a file');
  });

  afterAll(() => {
    const mine = docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])
      .stdout.split('\n')
      .filter((ref) => ref.includes(`/${repository}`));
    for (const ref of mine) docker(['rmi', '-f', ref], { allowFail: true });
    ws?.dispose();
  });

  describe('from project.json options (buildArgs, labels)', () => {
    it.each(VALUES.map(([what, value], i) => [what, value, i] as const))(
      'carries %s byte for byte',
      (_what, value, i) => {
        expectBuilt(build(optionsTarget(i)));
        expectLiteral(`dist/lit/options-${i}`, value, label);
      },
    );
  });

  describe('from the nx command line (--buildArgs.WEIRD=…, --labels.weird=…)', () => {
    // nx's own parser rewrites these before the executor sees them (below);
    // they reach docker literally through project.json only.
    const rewrittenByNx = new Set(['"wrapped"', '3.10']);

    it.each(VALUES.filter(([, value]) => !rewrittenByNx.has(value)))(
      'carries %s byte for byte',
      (_what, value) => {
        expectBuilt(
          build('build-cli', [
            `--buildArgs.WEIRD=${value}`,
            `--labels.weird=${value}`,
          ]),
        );
        expectLiteral('dist/lit/cli', value, 'weird');
      },
    );

    it('loses the quotes around a value wrapped in them (nx strips a matching pair)', () => {
      expectBuilt(
        build('build-cli', [
          '--buildArgs.WEIRD="wrapped"',
          "--labels.weird='wrapped'",
        ]),
      );
      const image = recordedImage('dist/lit/cli');
      expect(inImage(image.ref, ['cat', '/weird.txt']).stdout).toBe('wrapped');
      expect(labelsOf(image.ref).weird).toBe('wrapped');
    });

    it.each([
      [
        'a value that reads as a number',
        ['--buildArgs.WEIRD=3.10'],
        "Property 'WEIRD' does not match the schema. '3.1' should be a 'string'.",
      ],
      [
        'a dotted label key (nx nests it)',
        ['--labels.org.example.weird=x'],
        "Property 'org' does not match the schema.",
      ],
      [
        'a flag-like value given after a space instead of =',
        ['--buildArgs.WEIRD', '--no-cache'],
        // nx reads WEIRD as a bare boolean flag (cache is a build option, so
        // --no-cache is taken as that option, not as WEIRD's value).
        "Property 'WEIRD' does not match the schema. 'true' should be a 'string'.",
      ],
    ])('refuses %s before the executor runs', (_what, args, message) => {
      const before = recordText('dist/lit/cli');
      const r = build('build-cli', args);
      expect(r.status).toBe(1);
      expect(r.all).toContain(message);
      expect(recordText('dist/lit/cli')).toBe(before);
    });
  });

  describe('tags docker could misread', () => {
    it.each(TAG_CASES.map((tags, i) => [JSON.stringify(tags), i] as const))(
      'refuses tags %s and builds nothing',
      (_tags, i) => {
        const r = build(`build-tags-${i}`);
        expectFailure(r, 'build.invalid-tag');
        expect(recordText(`dist/lit/tags-${i}`)).toBeUndefined();
        expect(
          docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])
            .stdout.split('\n')
            .filter((ref) => ref.includes(`/${repository}-tags/`)),
        ).toEqual([]);
        expect(existsSync(sentinel)).toBe(false);
      },
    );
  });
});
