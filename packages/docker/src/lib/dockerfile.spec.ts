import { declaredArgs } from './dockerfile';

describe('declaredArgs', () => {
  it.each([
    [
      'a bare ARG',
      'FROM python:3.10-slim\nARG PIP_INDEX_URL\n',
      ['PIP_INDEX_URL'],
    ],
    [
      'an ARG with a default',
      'ARG BASE_IMAGE=python:3.10-slim\nFROM ${BASE_IMAGE}\n',
      ['BASE_IMAGE'],
    ],
    [
      'a quoted default with spaces',
      'FROM scratch\nARG BUILD_PACKAGES="build-essential git"\n',
      ['BUILD_PACKAGES'],
    ],
    ['an empty default', 'FROM scratch\nARG SOURCE=""\n', ['SOURCE']],
    ['a lowercase keyword', 'FROM scratch\narg lower\n', ['lower']],
    [
      'a line continuation',
      'FROM scratch\nARG \\\n  CONTINUED=1\n',
      ['CONTINUED'],
    ],
    [
      'ARGs in several stages',
      'ARG A\nFROM x AS one\nARG B\nFROM y AS two\nARG C=3\n',
      ['A', 'B', 'C'],
    ],
    [
      'several names in one ARG',
      'FROM x\nARG OTHER=y BASE_IMAGE=x\n',
      ['OTHER', 'BASE_IMAGE'],
    ],
    [
      'an ARG repeated in two stages',
      'FROM x AS one\nARG A\nFROM y\nARG A\n',
      ['A'],
    ],
  ])('reads %s', (_label, text, names) => {
    expect([...declaredArgs(text)].sort()).toEqual([...names].sort());
  });

  it.each([
    ['a commented-out ARG', 'FROM scratch\n# ARG HIDDEN=1\n'],
    ['ENV, which is not an ARG', 'FROM scratch\nENV PORT=8000\n'],
    ['an ARG in a RUN command', 'FROM scratch\nRUN echo ARG X=1\n'],
    ['an empty file', ''],
  ])('ignores %s', (_label, text) => {
    expect(declaredArgs(text).size).toBe(0);
  });

  it('reads the BASE_IMAGE of the generated Dockerfile layout', () => {
    const text = [
      'ARG BASE_IMAGE=python:3.10-slim',
      'FROM ${BASE_IMAGE} AS builder',
      'ARG BUILD_PACKAGES=""',
      'ARG PIP_INDEX_URL',
      'FROM ${BASE_IMAGE} AS runtime',
      'ARG SOURCE=""',
      '',
    ].join('\n');
    expect(declaredArgs(text)).toEqual(
      new Set(['BASE_IMAGE', 'BUILD_PACKAGES', 'PIP_INDEX_URL', 'SOURCE']),
    );
  });
});
