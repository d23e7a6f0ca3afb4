import { ExecutorContext } from '@nx/devkit';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ImageRecord,
  pushRecordPath,
  readBuildRecord,
  recordPath,
  recordPathOfTarget,
  writeJsonAtomic,
} from './build-record';
import { UserFacingError } from '../errors/errors';

const IMAGE: ImageRecord = {
  image: 'training',
  dockerfile: 'docker/training/Dockerfile',
  name: '127.0.0.1:5000/ml-images/synth-training',
  registry: '127.0.0.1:5000',
  tags: ['nx-1', 'abcdef0', 'latest'],
  contentTag: 'nx-1',
  imageId:
    'sha256:1111111111111111111111111111111111111111111111111111111111111111',
  sizeBytes: 150_000_000,
  durationMs: 60_000,
  builtWith: 'buildx',
  createdAt: '2024-05-01T10:00:00.000Z',
};

describe('build record', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ml-docker-record-'));
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  describe('recordPath', () => {
    it.each<[string, string, string | undefined, string]>([
      [
        'under dist/docker/<projectRoot> without outputPath',
        'apps/synth',
        undefined,
        'dist/docker/apps/synth/build-record.json',
      ],
      [
        'under dist/docker/.workspace-root for a project at the workspace root',
        '.',
        undefined,
        'dist/docker/.workspace-root/build-record.json',
      ],
      [
        'under outputPath when given',
        'apps/synth',
        'dist/images/synth',
        'dist/images/synth/build-record.json',
      ],
      [
        'under outputPath for a project at the workspace root',
        '.',
        'out/images',
        'out/images/build-record.json',
      ],
    ])('puts the record %s', (_label, projectRoot, outputPath, expected) => {
      expect(recordPath('/ws', projectRoot, outputPath)).toBe(
        join('/ws', expected),
      );
    });

    it('puts the push record beside the build record', () => {
      expect(
        pushRecordPath(join('/ws', 'dist/images/synth/build-record.json')),
      ).toBe(join('/ws', 'dist/images/synth/push-record.json'));
    });
  });

  describe('recordPathOfTarget', () => {
    const project = { name: 'synth', root: 'apps/synth' };

    function context(
      targets: Record<string, { executor: string; options?: object }>,
    ): ExecutorContext {
      return {
        root,
        cwd: root,
        isVerbose: false,
        projectName: 'synth',
        projectsConfigurations: {
          version: 2,
          projects: { synth: { root: 'apps/synth', targets } },
        },
        nxJsonConfiguration: {},
        projectGraph: { nodes: {}, dependencies: {} },
      };
    }

    beforeEach(() => {
      // readTargetOptions reads the options through @ml/docker:build's schema.
      mkdirSync(join(root, 'node_modules/@ml'), { recursive: true });
      symlinkSync(
        join(__dirname, '../..'),
        join(root, 'node_modules/@ml/docker'),
      );
    });

    it("reads the outputPath option of the project's build target", () => {
      const ctx = context({
        containers: {
          executor: '@ml/docker:build',
          options: { outputPath: 'dist/images/synth' },
        },
      });
      expect(recordPathOfTarget(ctx, project, 'containers')).toBe(
        join(root, 'dist/images/synth/build-record.json'),
      );
    });

    it.each<[string, Record<string, { executor: string; options?: object }>]>([
      [
        'a build target without outputPath',
        { 'docker-build': { executor: '@ml/docker:build', options: {} } },
      ],
      ['no such target', {}],
    ])('falls back to dist/docker/<projectRoot> for %s', (_label, targets) => {
      expect(
        recordPathOfTarget(context(targets), project, 'docker-build'),
      ).toBe(join(root, 'dist/docker/apps/synth/build-record.json'));
    });
  });

  describe('readBuildRecord', () => {
    const path = () => join(root, 'build-record.json');
    const write = (data: unknown) =>
      writeFileSync(
        path(),
        typeof data === 'string' ? data : JSON.stringify(data),
      );

    it('gives undefined when there is no record', () => {
      expect(readBuildRecord(path(), 'synth', 'docker-build')).toBeUndefined();
    });

    it('reads a version 2 record as written', () => {
      write({ version: 2, project: 'synth', images: [IMAGE] });
      expect(readBuildRecord(path(), 'synth', 'docker-build')).toEqual({
        version: 2,
        project: 'synth',
        images: [IMAGE],
      });
    });

    it('reads a version 1 record, which called the name "repository", as version 2', () => {
      const { name, ...rest } = IMAGE;
      write({
        version: 1,
        project: 'synth',
        images: [
          { ...rest, repository: name },
          { ...rest, image: 'inference', repository: `${name}-2` },
        ],
      });
      const record = readBuildRecord(path(), 'synth', 'docker-build');
      expect(record).toEqual({
        version: 2,
        project: 'synth',
        images: [IMAGE, { ...IMAGE, image: 'inference', name: `${name}-2` }],
      });
      for (const image of record?.images ?? [])
        expect(image).not.toHaveProperty('repository');
    });

    it('names the project when the record does not', () => {
      write({ version: 2, images: [] });
      expect(readBuildRecord(path(), 'synth', 'docker-build')?.project).toBe(
        'synth',
      );
    });

    it.each<[string, unknown]>([
      ['an unknown version', { version: 3, project: 'synth', images: [] }],
      ['no version', { project: 'synth', images: [] }],
      ['a version written as a string', { version: '2', images: [] }],
      ['no images', { version: 2, project: 'synth' }],
      ['images that are no list', { version: 2, images: {} }],
      ['JSON null', null],
    ])('refuses a record with %s, saying what to do', (_label, data) => {
      write(JSON.stringify(data));
      const read = () => readBuildRecord(path(), 'synth', 'image-build');
      expect(read).toThrow(UserFacingError);
      expect(read).toThrow(
        `The build record ${path()} has an unknown format. Delete it and run nx run synth:image-build.`,
      );
    });

    it('refuses a record that is not JSON, saying what to do', () => {
      write('{"version": 2, "images": [');
      const read = () => readBuildRecord(path(), 'synth', 'docker-build');
      expect(read).toThrow(UserFacingError);
      expect(read).toThrow(
        new RegExp(
          `^The build record ${path().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON \\(.+\\)\\. Delete it and run nx run synth:docker-build\\.$`,
        ),
      );
    });
  });

  describe('writeJsonAtomic', () => {
    it('writes indented JSON with a final newline, creating the folders', () => {
      const file = join(root, 'dist/docker/apps/synth/build-record.json');
      writeJsonAtomic(file, { version: 2, project: 'synth', images: [] });
      expect(readFileSync(file, 'utf8')).toBe(
        '{\n  "version": 2,\n  "project": "synth",\n  "images": []\n}\n',
      );
    });

    it('leaves no temporary file behind and replaces an older record', () => {
      const file = join(root, 'build-record.json');
      writeFileSync(file, 'old');
      writeJsonAtomic(file, { version: 2 });
      expect(readdirSync(root)).toEqual(['build-record.json']);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 2 });
      expect(existsSync(`${file}.${process.pid}.tmp`)).toBe(false);
    });

    it('writes a record readBuildRecord reads back', () => {
      const file = join(root, 'out/build-record.json');
      const record = { version: 2, project: 'synth', images: [IMAGE] };
      writeJsonAtomic(file, record);
      expect(readBuildRecord(file, 'synth', 'docker-build')).toEqual(record);
    });
  });
});
