import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cudaMatrix,
  CudaRequest,
  knownCombinations,
  parseAccelerator,
  resolveCudaVariant,
} from './accelerator';
import { UserFacingError } from '../errors/errors';

const rows = cudaMatrix().rows;
const label = (r: (typeof rows)[number]) => `torch ${r.version} cuda ${r.cuda}`;

// nvidia/cuda patch releases with cuDNN images on Docker Hub (replicate/cog's
// cuda_compatibility.json is scraped from there). A row pointing at a patch
// not listed here is a typo or a new release: check the tag, then add it.
const PUBLISHED_CUDA = [
  '11.8.0',
  '12.1.0',
  '12.1.1',
  '12.4.1',
  '12.6.0',
  '12.6.1',
  '12.6.2',
  '12.6.3',
  '12.8.0',
  '12.8.1',
];

// PyTorch's release pairing: torch 2.m.p ships with torchvision 0.(m+15).p
// and torchaudio 2.m.p (2.3 → 0.18 … 2.7 → 0.22).
function torchvisionFor(torch: string): string {
  const [major, minor, patch] = torch.split('.').map(Number);
  expect(major).toBe(2);
  return `0.${minor + 15}.${patch}`;
}

function userError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserFacingError);
    return (e as Error).message;
  }
  throw new Error('expected a UserFacingError');
}

describe('cuda-matrix.json', () => {
  it('is the file next to the module, with metadata on how to update it', () => {
    const raw = JSON.parse(
      readFileSync(join(__dirname, 'cuda-matrix.json'), 'utf8'),
    );
    expect(typeof raw.$comment).toBe('string');
    expect(raw.updating.length).toBeGreaterThan(0);
    expect(raw.sources.length).toBeGreaterThan(0);
    expect(rows.length).toBeGreaterThan(0);
  });

  it('covers torch 2.3 to 2.7 with their CUDA builds', () => {
    const builds = (minor: string) =>
      [
        ...new Set(
          rows.filter((r) => r.version.startsWith(minor)).map((r) => r.cuda),
        ),
      ].sort();
    expect(builds('2.3.')).toEqual(['11.8', '12.1']);
    expect(builds('2.4.')).toEqual(['11.8', '12.1', '12.4']);
    expect(builds('2.5.')).toEqual(['11.8', '12.1', '12.4']);
    expect(builds('2.6.')).toEqual(['11.8', '12.4', '12.6']);
    expect(builds('2.7.')).toEqual(['11.8', '12.6', '12.8']);
  });

  it('has no duplicate (framework, version, cuda) rows', () => {
    const keys = rows.map((r) => `${r.framework} ${r.version} ${r.cuda}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  describe.each(rows.map((r) => [label(r), r] as const))('%s', (_, row) => {
    it('has well-formed fields', () => {
      expect(row.framework).toBe('torch');
      expect(row.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(row.cuda).toMatch(/^\d+\.\d+$/);
      expect(row.cudnn).toMatch(/^\d+$/);
    });

    it("index URL's cuXYZ is the row's CUDA", () => {
      const m = /^https:\/\/download\.pytorch\.org\/whl\/cu(\d+)$/.exec(
        row.indexUrl,
      );
      expect(m?.[1]).toBe(row.cuda.replace('.', ''));
    });

    it("base image is an nvidia/cuda cuDNN runtime image of the row's CUDA", () => {
      expect(row.baseImage).not.toMatch(/devel/);
      const m =
        /^nvidia\/cuda:(\d+)\.(\d+)\.(\d+)-(cudnn\d*)-runtime-ubuntu(22\.04|24\.04)$/.exec(
          row.baseImage,
        );
      expect(m).not.toBeNull();
      const [, major, minor, patch] = m as RegExpExecArray;
      expect(`${major}.${minor}`).toBe(row.cuda);
      expect(PUBLISHED_CUDA).toContain(`${major}.${minor}.${patch}`);
    });

    it("cudnn is the base image's cuDNN, named as NVIDIA tags it for that CUDA", () => {
      const variant = /-(cudnn\d*)-runtime-/.exec(row.baseImage)?.[1];
      const [major, minor] = row.cuda.split('.').map(Number);
      // cudnn8 up to CUDA 12.2, cudnn9 on 12.3, bare "cudnn" (cuDNN 9) from 12.4.
      const expected =
        major < 12 || (major === 12 && minor <= 2)
          ? 'cudnn8'
          : major === 12 && minor === 3
            ? 'cudnn9'
            : 'cudnn';
      expect(variant).toBe(expected);
      expect(row.cudnn).toBe(variant === 'cudnn' ? '9' : variant?.slice(5));
    });

    it('python versions are well-formed, distinct and sorted', () => {
      expect(row.python.length).toBeGreaterThan(0);
      for (const p of row.python) expect(p).toMatch(/^3\.\d{1,2}$/);
      const minors = row.python.map((p) => Number(p.split('.')[1]));
      expect(minors).toEqual([...new Set(minors)].sort((a, b) => a - b));
    });

    it('torchvision and torchaudio pair with torch', () => {
      expect(row.torchvision).toBe(torchvisionFor(row.version));
      expect(row.torchaudio).toBe(row.version);
    });
  });
});

describe('parseAccelerator', () => {
  it.each([
    ['cpu', { kind: 'cpu' }],
    ['cuda', { kind: 'cuda' }],
    ['cuda12', { kind: 'cuda', cuda: '12' }],
    ['cuda12.4', { kind: 'cuda', cuda: '12.4' }],
    ['cuda11.8', { kind: 'cuda', cuda: '11.8' }],
    ['CUDA12.6', { kind: 'cuda', cuda: '12.6' }],
    [' cpu ', { kind: 'cpu' }],
  ])('%j', (value, expected) => {
    expect(parseAccelerator(value)).toEqual(expected);
  });

  it.each([
    'gpu',
    'cu124',
    'cuda-12.4',
    'cuda12.4.1',
    'cuda12.',
    'rocm6.2',
    '',
  ])('refuses %j with the accepted forms', (value) => {
    expect(userError(() => parseAccelerator(value))).toBe(
      `Unknown accelerator "${value}". Use --accelerator=cpu, --accelerator=cuda (newest CUDA build), --accelerator=cuda12 (newest CUDA 12.x) or --accelerator=cuda12.4 (that CUDA version).`,
    );
  });
});

describe('resolveCudaVariant', () => {
  it('returns everything a Dockerfile needs for one build', () => {
    expect(
      resolveCudaVariant({ torch: '2.6.0', cuda: '12.4', python: '3.11' }),
    ).toEqual({
      framework: 'torch',
      torch: '2.6.0',
      torchvision: '0.21.0',
      torchaudio: '2.6.0',
      cuda: '12.4',
      cudnn: '9',
      python: '3.11',
      baseImage: 'nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04',
      indexUrl: 'https://download.pytorch.org/whl/cu124',
      packages: ['torch==2.6.0', 'torchvision==0.21.0', 'torchaudio==2.6.0'],
      accelerator: 'cuda12.4',
      tagSuffix: '-cuda12.4',
      imageSuffix: '-cuda',
    });
  });

  it.each<[string, CudaRequest, string, string]>([
    ['newest torch, newest CUDA for it', { python: '3.11' }, '2.7.1', '12.8'],
    [
      'cuda12 is the newest 12.x',
      { cuda: '12', python: '3.12' },
      '2.7.1',
      '12.8',
    ],
    ['cuda11 is 11.8', { cuda: '11', python: '3.10' }, '2.7.1', '11.8'],
    [
      'a CUDA picks the newest torch built for it',
      { cuda: '12.1', python: '3.11' },
      '2.5.1',
      '12.1',
    ],
    [
      'the newest torch for CUDA 12.4',
      { cuda: '12.4', python: '3.10' },
      '2.6.0',
      '12.4',
    ],
    [
      'torch 2.6 is its newest patch',
      { torch: '2.6', python: '3.11' },
      '2.6.0',
      '12.6',
    ],
    [
      'torch 2.5 → 2.5.1, newest CUDA 12.4',
      { torch: '2.5', python: '3.12' },
      '2.5.1',
      '12.4',
    ],
    [
      'an exact older patch',
      { torch: '2.4.0', cuda: '12.1', python: '3.9' },
      '2.4.0',
      '12.1',
    ],
    [
      'a Python patch version is its major.minor',
      { torch: '2.7.0', python: '3.13.2' },
      '2.7.0',
      '12.8',
    ],
    [
      'Python 3.13 needs torch 2.6+',
      { cuda: '12.4', python: '3.13' },
      '2.6.0',
      '12.4',
    ],
  ])('%s', (_, req, torch, cuda) => {
    const v = resolveCudaVariant(req);
    expect([v.torch, v.cuda]).toEqual([torch, cuda]);
    expect(v.tagSuffix).toBe(`-cuda${cuda}`);
  });

  it.each<[string, CudaRequest, string]>([
    [
      'a CUDA that torch version was not built for',
      { torch: '2.6.0', cuda: '12.1', python: '3.11' },
      "No CUDA build of torch 2.6.0 for CUDA 12.1 with Python 3.11 in @ml/docker's table. Known for torch 2.6.0 with Python 3.11: cuda11.8, cuda12.4, cuda12.6. Pick one of those with --accelerator=cudaX.Y, or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.",
    ],
    [
      'a CUDA major no torch was built for',
      { cuda: '13', python: '3.11' },
      "No CUDA build of torch for CUDA 13.x with Python 3.11 in @ml/docker's table. Known with Python 3.11: cuda11.8, cuda12.1, cuda12.4, cuda12.6, cuda12.8. Pick one of those with --accelerator=cudaX.Y, or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.",
    ],
    [
      'a Python that torch version has no wheels for',
      { torch: '2.5.1', python: '3.13' },
      "No CUDA build of torch 2.5.1 with Python 3.13 in @ml/docker's table. Known for torch 2.5.1: Python 3.9, 3.10, 3.11, 3.12 (Python 3.13: torch 2.6.0, 2.7.0, 2.7.1). Pick one of those with --pythonVersion, or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.",
    ],
    [
      'a Python no torch in the table has wheels for',
      { cuda: '12.4', python: '3.8' },
      "No CUDA build of torch for CUDA 12.4 with Python 3.8 in @ml/docker's table. Known: Python 3.9, 3.10, 3.11, 3.12, 3.13. Pick one of those with --pythonVersion, or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.",
    ],
    [
      'a torch version not in the table',
      { torch: '2.2.0', python: '3.11' },
      "No CUDA build of torch 2.2.0 with Python 3.11 in @ml/docker's table. Known: torch 2.3.0, 2.3.1, 2.4.0, 2.4.1, 2.5.0, 2.5.1, 2.6.0, 2.7.0, 2.7.1. Pick one of those, or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.",
    ],
    [
      'a torch prefix that matches nothing',
      { torch: '2.60', cuda: '12.4', python: '3.11' },
      "No CUDA build of torch 2.60 for CUDA 12.4 with Python 3.11 in @ml/docker's table. Known: torch 2.3.0, 2.3.1, 2.4.0, 2.4.1, 2.5.0, 2.5.1, 2.6.0, 2.7.0, 2.7.1. Pick one of those, or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.",
    ],
    [
      'a torch version with a local CUDA suffix',
      { torch: '2.6.0+cu124', python: '3.11' },
      'torch version "2.6.0+cu124" is not a version like 2.6.0 or 2.6. Pin torch to a release version (no +cu124 suffix: --accelerator picks the CUDA build).',
    ],
    [
      'a Python version that is not major.minor',
      { python: 'python3' },
      'Python version "python3" is not a version like 3.11. Pass --pythonVersion as major.minor.',
    ],
    [
      'a CUDA version that is not a version',
      { cuda: '12.x', python: '3.11' },
      'CUDA version "12.x" is not a version like 12 or 12.4. Use --accelerator=cpu, --accelerator=cuda (newest CUDA build), --accelerator=cuda12 (newest CUDA 12.x) or --accelerator=cuda12.4 (that CUDA version).',
    ],
  ])('refuses %s', (_, req, message) => {
    const text = userError(() => resolveCudaVariant(req));
    expect(text).toBe(message);
    expect(text).not.toContain('\n');
  });

  it('resolves every row of the table for each of its Python versions', () => {
    for (const row of rows)
      for (const python of row.python) {
        const v = resolveCudaVariant({
          torch: row.version,
          cuda: row.cuda,
          python,
        });
        expect([v.baseImage, v.indexUrl]).toEqual([
          row.baseImage,
          row.indexUrl,
        ]);
      }
  });
});

describe('knownCombinations', () => {
  it('lists every row, newest torch first, then newest CUDA', () => {
    const all = knownCombinations();
    expect(all).toHaveLength(rows.length);
    expect(all.slice(0, 4).map((c) => `${c.torch} ${c.accelerator}`)).toEqual([
      '2.7.1 cuda12.8',
      '2.7.1 cuda12.6',
      '2.7.1 cuda11.8',
      '2.7.0 cuda12.8',
    ]);
    expect(all[all.length - 1]).toEqual({
      framework: 'torch',
      torch: '2.3.0',
      cuda: '11.8',
      accelerator: 'cuda11.8',
      python: ['3.9', '3.10', '3.11', '3.12'],
      baseImage: 'nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04',
      indexUrl: 'https://download.pytorch.org/whl/cu118',
    });
  });

  it('returns copies: callers cannot change the table', () => {
    knownCombinations()[0].python.push('2.7');
    expect(knownCombinations()[0].python).not.toContain('2.7');
  });
});
