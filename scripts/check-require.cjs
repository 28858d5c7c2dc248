// Every published package must load with require() on Node >= 20.19 (require(esm)).
const { readdirSync, readFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');

let failed = 0;
for (const dir of readdirSync(join(__dirname, '..', 'packages'))) {
  const root = join(__dirname, '..', 'packages', dir);
  const manifest = join(root, 'package.json');
  if (!existsSync(manifest)) continue;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  if (pkg.private) continue;
  try {
    const loaded = require(root);
    const names = Object.keys(loaded);
    if (names.length === 0) throw new Error('no exports');
    console.log(`require('${pkg.name}'): ${names.length} exports`);
  } catch (error) {
    failed++;
    console.error(`require('${pkg.name}') failed: ${error.message}`);
  }
}
process.exit(failed ? 1 : 0);
