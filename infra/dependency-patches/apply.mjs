// Applies the dependency patches in this folder (run by `npm install` / `npm ci` as postinstall).
// Idempotent: a patch whose replacement is already there is skipped. A file whose text matches
// neither fails the install, naming it: a different dependency version needs the patch reviewed.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'package.json'));

function occurrences(text, piece) {
  let count = 0;
  for (let at = text.indexOf(piece); at !== -1; at = text.indexOf(piece, at + piece.length)) count++;
  return count;
}

export function applyPatches({ packageName, packageVersion, patches }) {
  // Not `require.resolve(name + '/package.json')`: a package with an exports map may not export it.
  const root = path.join(path.dirname(require.resolve('./package.json')), 'node_modules', packageName);
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  if (version !== packageVersion) throw new Error(`${packageName} ${version} is installed; the patches are for ${packageVersion}`);
  let applied = 0;
  for (const patch of patches) {
    const file = path.join(root, patch.file);
    const text = readFileSync(file, 'utf8');
    if (text.includes(patch.replace)) continue;
    const found = occurrences(text, patch.find);
    if (found !== 1) {
      throw new Error(
        `${packageName}/${patch.file}: expected the patched text once, found it ${found} times (${patch.why}). ` +
          `If an earlier version of this patch is installed, reinstall the package: rm -rf node_modules/${packageName} && npm ci`,
      );
    }
    writeFileSync(file, text.replace(patch.find, () => patch.replace));
    applied++;
  }
  return applied;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const patchSet of [await import('./kafkajs.mjs'), await import('./drizzle-orm.mjs')]) {
    const applied = applyPatches(patchSet);
    if (applied > 0) console.log(`[postinstall] patched ${patchSet.packageName} ${patchSet.packageVersion}: ${applied} change(s)`);
  }
}
