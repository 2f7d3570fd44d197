// Compiles the TypeScript sources to dist/ and copies the files Node-RED loads beside them
// (node .html editor files, static console assets).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// Build beside dist/ and swap it in at the end, so a test that packs dist/ meanwhile never
// sees a half-written tree.
const out = path.join(root, `dist.build-${process.pid}`);
fs.rmSync(out, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json'), '--outDir', out], {
    stdio: 'inherit',
  });
} catch (err) {
  fs.rmSync(out, { recursive: true, force: true });
  process.exit(err.status || 1);
}
// Sources are TypeScript, so a .js file here is a browser asset (the HA console script).
const ASSET = /\.(html|css|js|svg|png|json)$/;
for (const dir of ['nodes', 'plugins', 'lib']) {
  copyAssets(path.join(root, dir), path.join(out, dir));
}
const old = path.join(root, `dist.old-${process.pid}`);
if (fs.existsSync(path.join(root, 'dist'))) fs.renameSync(path.join(root, 'dist'), old);
fs.renameSync(out, path.join(root, 'dist'));
fs.rmSync(old, { recursive: true, force: true });

function copyAssets(from, to) {
  if (!fs.existsSync(from)) return;
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) {
      copyAssets(source, path.join(to, entry.name));
    } else if (ASSET.test(entry.name)) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(source, path.join(to, entry.name));
    }
  }
}
