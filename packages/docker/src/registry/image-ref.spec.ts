import {
  assertRegistry,
  assertRepositoryPath,
  assertTag,
  contentTag,
  DEFAULT_REGISTRY,
  DEFAULT_REPOSITORY,
  imageRef,
  pathInRegistry,
  fullName,
  splitRegistry,
} from './image-ref';
import { UserFacingError } from '../errors/errors';

describe('image-ref', () => {
  it('defaults to the local registry and the ml-images repository', () => {
    expect(DEFAULT_REGISTRY).toBe('127.0.0.1:5000');
    expect(DEFAULT_REPOSITORY).toBe('ml-images');
  });

  describe('assertTag', () => {
    it.each([
      'latest',
      'v1.2.3',
      'nx-0123456789abcdef',
      '_underscore-first',
      'a',
      'A'.repeat(128),
    ])('accepts the tag %j', (tag) => {
      expect(() => assertTag(tag, 'the tags option')).not.toThrow();
    });

    it.each([
      ['empty', ''],
      ['leading dot', '.hidden'],
      ['leading dash', '-rc1'],
      ['a colon', 'v1:2'],
      ['a slash', 'feature/x'],
      ['a space', 'my tag'],
      ['shell substitution', '$(rm -rf /)'],
      ['129 characters', 'a'.repeat(129)],
    ])('refuses a tag with %s', (_label, tag) => {
      expect(() => assertTag(tag, 'the tags option')).toThrow(UserFacingError);
      expect(() => assertTag(tag, 'the tags option')).toThrow(
        `Invalid tag "${tag}" in the tags option`,
      );
    });
  });

  describe('assertRepositoryPath', () => {
    it.each([
      'ml-images/synth-training',
      'synth_training',
      'a/b/c',
      'x.y',
      'ml__x',
      'a--b',
    ])('accepts the repository path %j', (path) => {
      expect(() =>
        assertRepositoryPath(path, 'image "training" of synth'),
      ).not.toThrow();
    });

    it.each([
      ['empty', ''],
      ['uppercase', 'ml-images/Synth'],
      ['an empty component', 'ml-images//synth'],
      ['a trailing separator', 'synth-'],
      ['a leading separator', '.synth'],
      ['a tag', 'synth:latest'],
      ['a space', 'ml images/synth'],
    ])('refuses a repository path with %s', (_label, path) => {
      expect(() =>
        assertRepositoryPath(path, 'image "training" of synth'),
      ).toThrow(`Invalid image name "${path}" in image "training" of synth`);
    });
  });

  describe('assertRegistry', () => {
    it.each([
      '127.0.0.1:5000',
      'localhost',
      'localhost:5000',
      'us-central1-docker.pkg.dev/my-gcp-project',
      'registry.example.com/team/sub',
    ])('accepts the registry %j', (registry) => {
      expect(() => assertRegistry(registry)).not.toThrow();
    });

    it.each([
      ['a scheme', 'https://registry.example.com'],
      ['a non-numeric port', 'localhost:http'],
      ['a space', 'registry example.com'],
      ['an uppercase path', 'gcr.io/MyProject'],
      ['empty', ''],
    ])('refuses a registry with %s', (_label, registry) => {
      expect(() => assertRegistry(registry)).toThrow(
        `Invalid registry "${registry}"`,
      );
    });
  });

  describe('fullName and imageRef', () => {
    it.each([
      [
        { registry: '127.0.0.1:5000', path: 'ml-images/synth-training' },
        '127.0.0.1:5000/ml-images/synth-training',
      ],
      [
        {
          registry: 'us-central1-docker.pkg.dev/proj',
          path: 'ml-images/synth-inference',
        },
        'us-central1-docker.pkg.dev/proj/ml-images/synth-inference',
      ],
      [{ registry: '', path: 'synth-training' }, 'synth-training'],
    ])('names %j as %s', (repo, name) => {
      expect(fullName(repo)).toBe(name);
      expect(imageRef(repo, 'v1')).toBe(`${name}:v1`);
    });
  });

  describe('splitRegistry', () => {
    it.each([
      ['127.0.0.1:5000', { host: '127.0.0.1:5000', prefix: '' }],
      [
        'us-central1-docker.pkg.dev/my-gcp-project',
        { host: 'us-central1-docker.pkg.dev', prefix: 'my-gcp-project' },
      ],
      [
        'registry.example.com/a/b',
        { host: 'registry.example.com', prefix: 'a/b' },
      ],
    ])('splits %s into host and path prefix', (registry, expected) => {
      expect(splitRegistry(registry)).toEqual(expected);
    });
  });

  describe('contentTag', () => {
    it.each([
      ['1234567890', 'nx-1234567890'],
      ['a'.repeat(64), `nx-${'a'.repeat(40)}`],
      ['ab/cd+ef=gh', 'nx-abcdefgh'],
    ])('turns the task hash %s into the tag %s', (hash, tag) => {
      expect(contentTag(hash)).toBe(tag);
    });

    it('always yields a valid tag', () => {
      expect(() =>
        assertTag(contentTag('x'.repeat(200) + '/+='), 'test'),
      ).not.toThrow();
    });
  });
});

describe('pathInRegistry', () => {
  it.each([
    [
      '127.0.0.1:5000/ml-images/synth-training',
      '127.0.0.1:5000',
      'ml-images/synth-training',
    ],
    [
      'us-central1-docker.pkg.dev/my-proj/ml-images/training',
      'us-central1-docker.pkg.dev/my-proj',
      'my-proj/ml-images/training',
    ],
  ])('%s in registry %s is %s', (repository, registry, path) => {
    expect(pathInRegistry(repository, registry)).toBe(path);
  });
});
