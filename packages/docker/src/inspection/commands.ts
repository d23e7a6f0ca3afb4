/** The Python entries a command runs, and the paths it names. */
import { MODULE } from './sources';

/** The Python entries one command runs: `python -m mod` or `python path.py`. */
export function pythonEntries(words: string[]): {
  modules: string[];
  files: string[];
  paths: string[];
} {
  const modules: string[] = [];
  const files: string[] = [];
  const paths: string[] = [];
  const py = words.findIndex((w) => /^(.*\/)?python(\d(\.\d+)?)?$/.test(w));
  if (py >= 0) {
    for (let k = py + 1; k < words.length; k++) {
      const w = words[k];
      if (w === '-m') {
        if (words[k + 1] && MODULE.test(words[k + 1]))
          modules.push(words[k + 1]);
        break;
      }
      if (/^-m[A-Za-z_]/.test(w)) {
        modules.push(w.slice(2));
        break;
      }
      if (w === '-W' || w === '-X') {
        k++;
        continue;
      }
      if (w.startsWith('-')) continue;
      if (w.endsWith('.py')) files.push(w);
      break;
    }
  }
  for (const w of words)
    if (!w.startsWith('-') && !w.includes('${') && /[/.]/.test(w))
      paths.push(w.replace(/^--?[\w-]+=/, ''));
  for (const w of words) {
    const eq = /^--?[\w-]+=(.+)$/.exec(w);
    if (eq && !eq[1].includes('${')) paths.push(eq[1]);
  }
  return { modules, files, paths };
}
