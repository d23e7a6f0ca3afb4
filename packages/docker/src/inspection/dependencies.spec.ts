import { Files, inspect, MAIN_GUARD } from '../testing/inspect-project';

describe('inspectProject', () => {
  describe('dependency sources', () => {
    const app: Files = {
      'app.py':
        'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
      'train.py': 'def main(): pass' + MAIN_GUARD,
    };

    it('follows -r and -c includes, and reports other requirement files without installing them', () => {
      const i = inspect({
        ...app,
        'requirements.txt':
          '-r requirements/common.txt\n-c constraints.txt\nfastapi\nuvicorn\n',
        'requirements/common.txt': 'numpy\n--requirement=ml.txt\n',
        'requirements/ml.txt': 'torch\n',
        'constraints.txt': 'numpy<2\n',
        'requirements-gpu.txt': 'cupy\n',
        'requirements_test.txt': 'pytest\n',
        'requirements/docs.txt': 'mkdocs\n',
      });
      expect(i.install).toEqual({
        requirements: ['requirements.txt'],
        requirementFiles: [
          'requirements.txt',
          'requirements/common.txt',
          'requirements/ml.txt',
          'constraints.txt',
        ],
        installable: false,
        installFiles: [],
        excluded: ['requirements_test.txt', 'requirements/docs.txt'],
        optional: ['requirements-gpu.txt'],
      });
      expect(i.dependencies).toEqual(['fastapi', 'numpy', 'torch', 'uvicorn']);
    });

    it('installs requirements/base.txt and prod.txt in order when prod does not include base', () => {
      const i = inspect({
        ...app,
        'requirements/base.txt': 'numpy\n',
        'requirements/prod.txt': 'fastapi\nuvicorn\n',
        'requirements/local.txt': 'ipython\n',
      });
      expect(i.install.requirements).toEqual([
        'requirements/base.txt',
        'requirements/prod.txt',
      ]);
      expect(i.install.excluded).toEqual(['requirements/local.txt']);
    });

    it('installs requirements.txt and then the package when both exist, with pyproject.toml files', () => {
      const i = inspect({
        'requirements.txt': 'fastapi==0.110.0\nuvicorn==0.29.0\n',
        'pyproject.toml':
          '[project]\nname = "demand"\nversion = "1"\nlicense = { file = "LICENSE" }\ndynamic = ["dependencies"]\n\n[tool.setuptools.dynamic]\ndependencies = { file = ["requirements.txt"] }\n\n[tool.setuptools.packages.find]\nwhere = ["."]\ninclude = ["demand*"]\n',
        LICENSE: 'MIT',
        'demand/__init__.py': '',
        'demand/api.py':
          'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
        'demand/train.py': 'def main(): pass' + MAIN_GUARD,
        'data_tools/__init__.py': '',
      });
      expect(i.install).toMatchObject({
        requirements: ['requirements.txt'],
        requirementFiles: ['requirements.txt'],
        installable: true,
        installFiles: ['pyproject.toml', 'LICENSE', 'demand/'],
      });
      expect(i.app).toBe('demand.api:app');
      expect(i.sources).toEqual([]);
    });

    it('reads setup.cfg beside a setup.py shim', () => {
      const i = inspect({
        'setup.py': 'from setuptools import setup\nsetup()\n',
        'setup.cfg':
          '[metadata]\nname = pricing\nlong_description = file: README.md\n\n[options]\npackage_dir =\n    = src\npackages = find:\ninstall_requires =\n    pandas>=2\n    fastapi\n    uvicorn\n\n[options.packages.find]\nwhere = src\n\n[options.extras_require]\nlint =\n    flake8\n\n[options.entry_points]\nconsole_scripts =\n    pricing-train = pricing.jobs:train\n',
        'README.md': '# pricing\n',
        'src/pricing/__init__.py': '',
        'src/pricing/jobs.py': 'def train():\n    pass\n',
        'src/pricing/web.py':
          'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
      });
      expect(i).toMatchObject({
        layout: 'installable',
        importRoot: 'src',
        install: {
          installFiles: ['setup.cfg', 'setup.py', 'README.md', 'src/'],
          excluded: ['setup.cfg [options.extras_require] lint'],
        },
        dependencies: ['fastapi', 'pandas', 'uvicorn'],
        app: 'pricing.web:app',
        training: { kind: 'console-script', name: 'pricing-train' },
      });
    });

    it.each<[string, Files, string]>([
      [
        'uvicorn missing from requirements.txt',
        { 'requirements.txt': 'fastapi\n' },
        'uvicorn is not in the runtime dependencies: add uvicorn to requirements.txt (the inference image runs python -m uvicorn).',
      ],
      [
        'a git requirement',
        {
          'requirements.txt':
            'fastapi\nuvicorn\nfeatlib @ git+https://github.com/acme/featlib@v1\n',
        },
        'The requirements install from git: the builder needs git, so build with --build-arg BUILD_PACKAGES=git (or list git in BUILD_PACKAGES).',
      ],
      [
        'setuptools flat-layout discovery of several folders',
        {
          'pyproject.toml':
            '[project]\nname = "x"\nversion = "1"\ndependencies = ["fastapi", "uvicorn"]\n',
          'models/m.pkl': 'x',
          'pipeline/__init__.py': '',
        },
        'pip install . will fail: setuptools finds several top-level folders (models, pipeline) and refuses to guess which are packages. List them in pyproject.toml ([tool.setuptools] packages = [...]) or move the code under src/, then rerun.',
      ],
      [
        'a version from git',
        {
          'pyproject.toml':
            '[build-system]\nrequires = ["setuptools>=64", "setuptools-scm>=8"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "x"\ndynamic = ["version"]\ndependencies = ["fastapi", "uvicorn"]\n\n[tool.setuptools]\npackages = ["x"]\n',
          'x/__init__.py': '',
        },
        'pyproject.toml takes its version from git, and the image build has no .git: set a fixed version, or pass it to the build (SETUPTOOLS_SCM_PRETEND_VERSION for setuptools-scm and hatch-vcs).',
      ],
      [
        'a hatchling project whose package folder does not match its name',
        {
          'pyproject.toml':
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n[project]\nname = "wine-model"\nversion = "1"\ndependencies = ["fastapi", "uvicorn"]\n',
          'service/__init__.py': '',
        },
        'pip install . will fail: the build backend (hatchling.build) looks for a wine_model/ or src/wine_model/ folder named after the project and finds none. Name the package folder in pyproject.toml (e.g. [tool.hatch.build.targets.wheel] packages, [tool.poetry] packages), then rerun.',
      ],
      [
        'a readme that does not exist',
        {
          'pyproject.toml':
            '[project]\nname = "x"\nversion = "1"\nreadme = "README.md"\ndependencies = ["fastapi", "uvicorn"]\n\n[tool.setuptools]\npy-modules = ["app", "train"]\n',
        },
        'pyproject.toml names README.md, which does not exist: pip install . will fail on it. Add the file or drop the reference, then rerun.',
      ],
    ])('warns about %s', (_, files, warning) => {
      expect(inspect({ ...app, ...files }).warnings).toContain(warning);
    });

    it('sees uvicorn in fastapi[standard]', () => {
      expect(
        inspect({ ...app, 'requirements.txt': 'fastapi[standard]>=0.112\n' })
          .warnings,
      ).toEqual([]);
    });
  });
});
