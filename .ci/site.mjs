// Finishes the site folder `.ci/build` made: adds the stylesheet and public files, names the
// CSS, JS and wasm after a hash of their content (listed in hash.txt, which the server reads),
// and writes a brotli and a gzip copy of every file for the server to send as they are.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const site = process.argv[2];
const pkg = path.join(site, 'pkg');

fs.copyFileSync('style/main.css', path.join(pkg, 'facehook.css'));
fs.cpSync('public', site, { recursive: true });

const hashes = [];
for (const [kind, file] of [
  ['js', 'facehook.js'],
  ['wasm', 'facehook_bg.wasm'],
  ['css', 'facehook.css'],
]) {
  const bytes = fs.readFileSync(path.join(pkg, file));
  const hash = createHash('sha256').update(bytes).digest('base64url').slice(0, 22);
  fs.renameSync(path.join(pkg, file), path.join(pkg, `facehook.${hash}.${kind}`));
  hashes.push(`${kind}: ${hash}\n`);
}
fs.writeFileSync(path.join(site, 'hash.txt'), hashes.join(''));

function* filesUnder(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(full);
    else yield full;
  }
}

for (const file of [...filesUnder(site)]) {
  if (file.endsWith('hash.txt')) continue;
  const bytes = fs.readFileSync(file);
  const brotli = zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  fs.writeFileSync(`${file}.br`, brotli);
  fs.writeFileSync(`${file}.gz`, zlib.gzipSync(bytes, { level: 9 }));
  console.log(
    `${path.relative(site, file).padEnd(40)} ${String(bytes.length).padStart(9)} B` +
      `  br ${String(brotli.length).padStart(8)} B`,
  );
}
