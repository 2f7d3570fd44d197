// Compiles the TypeScript sources to dist/ and copies the files Node-RED loads beside them
// (node .html editor files, static console assets).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});
const ASSET = /\.(html|css|svg|png|json)$/;
for (const dir of ['nodes', 'plugins', 'lib']) {
  copyAssets(path.join(root, dir), path.join(root, 'dist', dir));
}

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
