// Project inspection of a generated 2,000-file Python project: how long
// inspectProject takes (what `nx g @ml/docker:images` waits for before it
// writes anything). The project is a FastAPI service whose app includes 40
// routers, each including 10 more across modules, with prefixes from settings
// and constants, a training entry, and plain modules besides; the health
// route sits at the end of the deepest include chain, so a fast number cannot
// come from reading too little (the script checks the path found).
//
// The current source and base revisions (default: 61106db, the regex reader
// before inspection read Python through a syntax tree, and 0d74631, the
// syntax-tree reader before it skipped the files a question cannot use) are
// compiled with tsc into tmp/bench-inspection/ and timed on the same
// project, each in a fresh Node process per run (a generator runs once per
// command), taking turns run by run so a busy machine weighs on all alike.
//
//   node bench/inspection-2000.mjs [--runs=N] [--base=<git rev>[,<git rev>…]]
//   (N from 1 to 9, default 3)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  flag,
  fmtMs,
  fmtRatio,
  main,
  makeTempDir,
  median,
  printReport,
  ROOT,
  run,
} from './lib.mjs';

const FILES = 2000;
const GOAL_MS = 1000;
const ROUTERS = 40;
const SUBROUTERS = 10;
const BASE_REVS = '61106db,0d74631';
const OUT = path.join(ROOT, 'tmp', 'bench-inspection');
const EXPECTED_HEALTH = '/api/v1/r39/s9/health';

/** Writes the project: returns the number of files. */
function generate(dir) {
  const files = new Map();
  files.set(
    'requirements.txt',
    'fastapi\nuvicorn\nscikit-learn\njoblib\npydantic-settings\n',
  );
  files.set('svc/__init__.py', '');
  files.set(
    'svc/config.py',
    'from pydantic_settings import BaseSettings\n\nAPI_PREFIX = "/api"\n\n\nclass Settings(BaseSettings):\n    API_V1_STR: str = "/v1"\n    MODEL_PATH: str = "models/model.joblib"\n\n\nsettings = Settings()\n',
  );
  files.set('svc/routers/__init__.py', '');
  const imports = [];
  const includes = [];
  for (let r = 0; r < ROUTERS; r++) {
    files.set(`svc/routers/r${r}/__init__.py`, '');
    const subImports = [];
    const subIncludes = [];
    for (let s = 0; s < SUBROUTERS; s++) {
      const last = r === ROUTERS - 1 && s === SUBROUTERS - 1;
      files.set(
        `svc/routers/r${r}/s${s}.py`,
        `from fastapi import APIRouter\nfrom svc.config import settings\n\nPREFIX = "/s${s}"\nrouter = APIRouter(prefix=PREFIX, tags=["s${s}"])\n\n\n@router.post("/predict")\ndef predict(payload: dict):\n    return {"ok": True}\n\n\n@router.get("/items/{item_id}")\ndef item(item_id: int):\n    return {"id": item_id}\n` +
          (last
            ? '\n\n@router.get("/health")\ndef health():\n    return {"status": "ok"}\n'
            : ''),
      );
      subImports.push(`from . import s${s}`);
      subIncludes.push(`router.include_router(s${s}.router)`);
    }
    files.set(
      `svc/routers/r${r}/api.py`,
      `from fastapi import APIRouter\n${subImports.join('\n')}\n\nrouter = APIRouter(prefix=f"/r${r}")\n${subIncludes.join('\n')}\n`,
    );
    imports.push(`from svc.routers.r${r}.api import router as r${r}`);
    includes.push(
      `app.include_router(r${r}, prefix=API_PREFIX + settings.API_V1_STR)`,
    );
  }
  files.set(
    'svc/main.py',
    `import logging\nimport os\n\nfrom fastapi import FastAPI\n\nfrom svc.config import API_PREFIX, settings\n${imports.join('\n')}\n\nos.makedirs("logs", exist_ok=True)\nlogging.basicConfig(filename="logs/app.log")\napp = FastAPI(title="svc")\n${includes.join('\n')}\n`,
  );
  files.set(
    'train.py',
    'import joblib\nfrom pathlib import Path\n\nfrom svc.config import settings\nfrom lib.m0 import f0\n\n\ndef main():\n    Path("models").mkdir(exist_ok=True)\n    joblib.dump(f0(), settings.MODEL_PATH)\n\n\nif __name__ == "__main__":\n    main()\n',
  );
  // Plain modules until the project holds FILES files.
  files.set('lib/__init__.py', '');
  for (let k = 0; files.size < FILES; k++)
    files.set(
      `lib/m${k}.py`,
      `import os\nfrom pathlib import Path\n\nDATA = Path(os.getenv("DATA_DIR", "data")) / "m${k}.csv"\nTHRESHOLD = ${k % 7} / 10\n\n\ndef f${k}(x=None):\n    """Helper ${k}."""\n    values = [i * THRESHOLD for i in range(10)]\n    return {"n": len(values), "path": str(DATA), "x": x}\n`,
    );
  for (const [rel, text] of files) {
    const abs = path.join(dir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, text);
  }
  return files.size;
}

// The entry moved from lib/project-inspector.ts to inspection/inspect-project.ts.
const ENTRIES = ['inspection/inspect-project', 'lib/project-inspector'];

/** Compiles the inspector of a source tree (the working copy, or a revision's) to out/. */
function compile(label, rev) {
  const out = path.join(OUT, label);
  fs.rmSync(out, { recursive: true, force: true });
  let src = path.join(ROOT, 'packages', 'docker', 'src');
  if (rev) {
    const checkout = path.join(OUT, `${label}-src`);
    fs.rmSync(checkout, { recursive: true, force: true });
    fs.mkdirSync(checkout, { recursive: true });
    const archive = spawnSync('git', ['archive', rev, 'packages/docker/src'], {
      cwd: ROOT,
      maxBuffer: 1 << 30,
    });
    if (archive.status !== 0)
      throw new Error(`git archive ${rev}: ${archive.stderr}`);
    spawnSync('tar', ['-x', '-C', checkout], { input: archive.stdout });
    src = path.join(checkout, 'packages', 'docker', 'src');
  }
  const entry = ENTRIES.find((e) => fs.existsSync(path.join(src, `${e}.ts`)));
  if (!entry) throw new Error(`no inspector entry in ${src}`);
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = run(process.execPath, [
    tsc,
    '--outDir',
    out,
    '--rootDir',
    src,
    '--module',
    'commonjs',
    '--target',
    'es2022',
    '--moduleResolution',
    'node',
    '--esModuleInterop',
    '--skipLibCheck',
    '--strict',
    '--types',
    'node',
    path.join(src, `${entry}.ts`),
  ]);
  if (r.code !== 0) throw new Error(`tsc (${label}): ${r.stdout}${r.stderr}`);
  return path.join(out, `${entry}.js`);
}

/** One fresh Node process: loads the inspector, reads the project from disk, times inspectProject. */
function timeOnce(inspector, projectDir) {
  const script = `
    const { FsTree } = require('nx/src/generators/tree');
    const { inspectProject } = require(${JSON.stringify(inspector)});
    const tree = new FsTree(${JSON.stringify(path.dirname(projectDir))}, false);
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const i = inspectProject(tree, ${JSON.stringify(path.basename(projectDir))}, { projectName: 'svc' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    const cpuMs = (c.user + c.system) / 1000;
    console.log(JSON.stringify({ ms, cpuMs, app: i.app, healthPath: i.healthPath ?? null }));
  `;
  const r = run(process.execPath, ['-e', script], { cwd: ROOT });
  if (r.code !== 0)
    throw new Error(`inspection failed: ${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

await main(async () => {
  const runs = Math.min(9, Math.max(1, Number(flag('runs', '3')) || 3));
  const bases = flag('base', BASE_REVS).split(',').filter(Boolean);
  fs.mkdirSync(OUT, { recursive: true });
  const dir = makeTempDir('inspection-2000-');
  const project = path.join(dir, 'svc');
  const count = generate(project);
  const inspectors = [
    { label: `current (${count} files)`, js: compile('current') },
  ];
  bases.forEach((rev, k) => {
    try {
      inspectors.push({ label: `base ${rev}`, js: compile(`base-${k}`, rev) });
    } catch (e) {
      console.log(`(base ${rev} not compiled: ${e.message.split('\n')[0]})`);
    }
  });
  const results = inspectors.map(() => []);
  for (let r = 0; r < runs; r++)
    inspectors.forEach((i, k) => results[k].push(timeOnce(i.js, project)));
  const measured = results.map((rs) => ({
    ms: median(rs.map((x) => x.ms)),
    cpuMs: median(rs.map((x) => x.cpuMs)),
    last: rs[rs.length - 1],
  }));
  const now = measured[0];
  const rows = inspectors.map((i, k) => [
    i.label,
    fmtMs(measured[k].ms),
    fmtMs(measured[k].cpuMs),
    measured[k].last.healthPath ?? 'none',
    k === 0 ? '1' : fmtRatio(now.ms, measured[k].ms),
    k === 0 ? '1' : fmtRatio(now.cpuMs, measured[k].cpuMs),
  ]);
  printReport({
    title: 'Project inspection, generated 2,000-file project',
    headers: [
      'inspector',
      `inspectProject wall (median of ${runs})`,
      'CPU (median)',
      'health path found',
      'current ÷ this, wall',
      'current ÷ this, CPU',
    ],
    rows,
    goals: [
      {
        goal: `under ${fmtMs(GOAL_MS)}`,
        measured: fmtMs(now.ms),
        met: now.ms < GOAL_MS,
      },
      {
        goal: `under ${fmtMs(GOAL_MS)} of CPU (wall counts waiting on a busy machine's other processes)`,
        measured: fmtMs(now.cpuMs),
        met: now.cpuMs < GOAL_MS,
      },
      {
        goal: `finds ${EXPECTED_HEALTH} at the end of the include chain`,
        measured: now.last.healthPath ?? 'none',
        met: now.last.healthPath === EXPECTED_HEALTH,
      },
    ],
    notes: [
      'CPU is process.cpuUsage() (user + system, all threads, garbage collection included) around inspectProject. Each run is a fresh Node process; the time excludes module loading and the file generation, and includes reading the files from disk through the devkit Tree (nx FsTree).',
      'Base 61106db reads Python line by line with regexes: its health path shows what it misses. Base 0d74631 parses every .py file of the folders it copies.',
    ],
    command: `node bench/inspection-2000.mjs --runs=${runs}${bases.join(',') !== BASE_REVS ? ` --base=${bases.join(',')}` : ''}`,
  });
});
