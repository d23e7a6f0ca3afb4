/**
 * GPU images: which nvidia/cuda base image and which PyTorch wheel index go
 * together. The facts live in cuda-matrix.json, one row per published torch ×
 * CUDA build; this module parses --accelerator and picks a row. A combination
 * PyTorch never published is refused here, in one line, instead of surfacing
 * as a pip resolver error twenty minutes into a docker build.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors/errors';

export type Accelerator = { kind: 'cpu' } | { kind: 'cuda'; cuda?: string };

/** One row of cuda-matrix.json. */
export interface CudaRow {
  framework: 'torch';
  version: string;
  /** CUDA major.minor the wheels were built for, e.g. 12.4. */
  cuda: string;
  /** cuDNN major version in baseImage. */
  cudnn: string;
  python: string[];
  baseImage: string;
  indexUrl: string;
  torchvision: string;
  torchaudio: string;
}

export interface CudaMatrix {
  rows: CudaRow[];
}

export interface CudaRequest {
  /** From parseAccelerator: major (12) or major.minor (12.4); absent means newest. */
  cuda?: string;
  /** major.minor, e.g. 3.11. */
  python: string;
  /** Exact (2.6.0) or a prefix (2.6: its newest patch); absent means newest. */
  torch?: string;
  /** Where the torch version comes from, for the refusal (e.g. "the version the project's dependencies pin"). */
  torchFrom?: string;
}

export interface CudaVariant {
  framework: 'torch';
  torch: string;
  torchvision: string;
  torchaudio: string;
  cuda: string;
  cudnn: string;
  python: string;
  baseImage: string;
  /**
   * Install torch, torchvision and torchaudio from here with --index-url, not
   * --extra-index-url: PyPI has the same version numbers built for another CUDA.
   */
  indexUrl: string;
  /** Pinned requirement specifiers of this build, e.g. torch==2.6.0. */
  packages: string[];
  /** The --accelerator value that selects exactly this CUDA, e.g. cuda12.4. */
  accelerator: string;
  /**
   * Appended to image tags (latest-cuda12.4) so images of different CUDA
   * builds never overwrite each other in a registry.
   */
  tagSuffix: string;
  /**
   * Appended to the image name when a CPU and a CUDA variant of one image
   * coexist (inference, inference-cuda). Without the version, so the name
   * survives a CUDA upgrade; the tag carries the version.
   */
  imageSuffix: string;
}

export interface KnownCombination {
  framework: 'torch';
  torch: string;
  cuda: string;
  accelerator: string;
  python: string[];
  baseImage: string;
  indexUrl: string;
}

const ACCEPTED_FORMS =
  'Use --accelerator=cpu, --accelerator=cuda (newest CUDA build), --accelerator=cuda12 (newest CUDA 12.x) or --accelerator=cuda12.4 (that CUDA version).';
const ESCAPE_HATCH =
  'or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.';

export function parseAccelerator(value: string): Accelerator {
  const v = value.trim().toLowerCase();
  if (v === 'cpu') return { kind: 'cpu' };
  if (v === 'cuda') return { kind: 'cuda' };
  const cuda = cudaVersion(v.slice('cuda'.length));
  if (v.startsWith('cuda') && cuda) return { kind: 'cuda', cuda };
  fail(`Unknown accelerator "${value}". ${ACCEPTED_FORMS}`);
}

/** 12 or 12.4, normalized (12.04 → 12.4); undefined for anything else. */
function cudaVersion(text: string): string | undefined {
  const m = /^([1-9]\d?)(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) return undefined;
  return m[2] === undefined ? m[1] : `${m[1]}.${Number(m[2])}`;
}

let loaded: CudaMatrix | undefined;

/** The table as shipped next to this module (copied by the build's assets). */
export function cudaMatrix(): CudaMatrix {
  loaded ??= JSON.parse(
    readFileSync(join(__dirname, 'cuda-matrix.json'), 'utf8'),
  ) as CudaMatrix;
  return loaded;
}

export function resolveCudaVariant(req: CudaRequest): CudaVariant {
  const python = pythonVersion(req.python);
  const torch = req.torch === undefined ? undefined : torchVersion(req.torch);
  const cuda = req.cuda === undefined ? undefined : requestedCuda(req.cuda);

  const subject =
    `No CUDA build of torch${torch ? ` ${torch}` : ''}${torch && req.torchFrom ? ` (${req.torchFrom})` : ''}` +
    (cuda ? ` for CUDA ${cuda.includes('.') ? cuda : `${cuda}.x`}` : '') +
    ` with Python ${python} in @ml/docker's table.`;
  const rows = torchRows();
  const forTorch = torch
    ? rows.filter((r) => versionMatches(torch, r.version))
    : rows;
  if (forTorch.length === 0) {
    fail(
      `${subject} Known: torch ${distinct(rows.map((r) => r.version)).join(', ')}. Pick one of those, ${ESCAPE_HATCH}`,
    );
  }

  const forPython = forTorch.filter((r) => r.python.includes(python));
  if (forPython.length === 0) {
    const scope = torch ? ` for torch ${torch}` : '';
    const pythons = distinct(forTorch.flatMap((r) => r.python));
    const elsewhere = distinct(
      rows.filter((r) => r.python.includes(python)).map((r) => r.version),
    );
    // Point at the torch versions that do have this Python: bumping torch is
    // often easier than changing the project's Python.
    const hint =
      torch && elsewhere.length > 0
        ? ` (Python ${python}: torch ${elsewhere.join(', ')})`
        : '';
    fail(
      `${subject} Known${scope}: Python ${pythons.join(', ')}${hint}. Pick one of those with --pythonVersion, ${ESCAPE_HATCH}`,
    );
  }

  const matching = cuda
    ? forPython.filter((r) => versionMatches(cuda, r.cuda))
    : forPython;
  if (matching.length === 0) {
    const scope = torch ? ` for torch ${torch}` : '';
    const cudas = distinct(forPython.map((r) => r.cuda)).map((c) => `cuda${c}`);
    fail(
      `${subject} Known${scope} with Python ${python}: ${cudas.join(', ')}. Pick one of those with --accelerator=cudaX.Y, ${ESCAPE_HATCH}`,
    );
  }

  const [row] = [...matching].sort(
    (a, b) =>
      compareVersions(b.version, a.version) || compareVersions(b.cuda, a.cuda),
  );
  return {
    framework: row.framework,
    torch: row.version,
    torchvision: row.torchvision,
    torchaudio: row.torchaudio,
    cuda: row.cuda,
    cudnn: row.cudnn,
    python,
    baseImage: row.baseImage,
    indexUrl: row.indexUrl,
    packages: [
      `torch==${row.version}`,
      `torchvision==${row.torchvision}`,
      `torchaudio==${row.torchaudio}`,
    ],
    accelerator: `cuda${row.cuda}`,
    tagSuffix: `-cuda${row.cuda}`,
    imageSuffix: '-cuda',
  };
}

/** Every (torch, CUDA) build in the table, newest torch first, then newest CUDA. */
export function knownCombinations(): KnownCombination[] {
  return [...torchRows()]
    .sort(
      (a, b) =>
        compareVersions(b.version, a.version) ||
        compareVersions(b.cuda, a.cuda),
    )
    .map((r) => ({
      framework: r.framework,
      torch: r.version,
      cuda: r.cuda,
      accelerator: `cuda${r.cuda}`,
      python: [...r.python],
      baseImage: r.baseImage,
      indexUrl: r.indexUrl,
    }));
}

function torchRows(): CudaRow[] {
  return cudaMatrix().rows.filter((r) => r.framework === 'torch');
}

function pythonVersion(text: string): string {
  // A full version (3.11.9) names the same wheels as its major.minor.
  const m = /^\s*(3\.\d{1,2})(?:\.\d+)?\s*$/.exec(text);
  if (!m) {
    fail(
      `Python version "${text}" is not a version like 3.11. Pass --pythonVersion as major.minor.`,
    );
  }
  return m[1];
}

function torchVersion(text: string): string {
  const v = text.trim();
  if (!/^\d+(\.\d+){0,2}$/.test(v)) {
    fail(
      `torch version "${text}" is not a version like 2.6.0 or 2.6. Pin torch to a release version (no +cu124 suffix: --accelerator picks the CUDA build).`,
    );
  }
  return v;
}

function requestedCuda(text: string): string {
  const v = cudaVersion(text.trim());
  if (!v) {
    fail(
      `CUDA version "${text}" is not a version like 12 or 12.4. ${ACCEPTED_FORMS}`,
    );
  }
  return v;
}

/** True when every component of the request equals the version's: 2.6 matches 2.6.0, not 2.60.0. */
function versionMatches(request: string, version: string): boolean {
  const want = request.split('.');
  const have = version.split('.');
  return want.every((part, i) => Number(part) === Number(have[i]));
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function distinct(versions: string[]): string[] {
  return [...new Set(versions)].sort(compareVersions);
}
