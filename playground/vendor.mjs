// Refreshes the playground files the server carries in its binary (playground/vendor/) from the
// packages `npm ci --prefix playground` installed exactly as package-lock.json pins them.
//
//   npm ci --prefix playground && node playground/vendor.mjs           # refresh
//   node playground/vendor.mjs --check                                 # compare, write nothing
//
// For each file the page loads it writes the file as npm ships it, its gzip and brotli forms (the
// server sends whichever the browser accepts), and a line of manifest.json with the package,
// version and SHA-384 hash; LICENSES.txt holds the licence of every package the lock installs,
// since the UMD builds bundle their dependencies. It fails, changing nothing, when a file of a
// version already in the manifest has a different hash (the registry served other bytes than
// last time), or with --check when anything differs from what is committed. A version change in
// package.json is accepted: its files get new lines.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');
const vendor = join(here, 'vendor');
const check = process.argv.includes('--check');

// The files the page loads, in load order: React first, then GraphiQL, which the Explorer
// plugin builds on.
const FILES = [
  ['react', 'umd/react.production.min.js'],
  ['react-dom', 'umd/react-dom.production.min.js'],
  ['graphiql', 'dist/index.umd.js'],
  ['graphiql', 'dist/style.css'],
  ['@graphiql/plugin-explorer', 'dist/index.umd.js'],
  ['@graphiql/plugin-explorer', 'dist/style.css'],
];

function fail(message) {
  console.error(`vendor.mjs: ${message}`);
  process.exit(1);
}

const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));
if (!existsSync(modules)) fail('playground/node_modules is missing: run `npm ci --prefix playground` first');

const integrity = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
const previous = existsSync(join(vendor, 'manifest.json'))
  ? JSON.parse(readFileSync(join(vendor, 'manifest.json'), 'utf8'))
  : [];

const manifest = [];
const outputs = new Map(); // path under vendor/ → bytes
for (const [name, file] of FILES) {
  const locked = lock.packages[`node_modules/${name}`];
  if (!locked) fail(`${name} is not in package-lock.json`);
  const installed = JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')).version;
  if (installed !== locked.version) {
    fail(`node_modules has ${name}@${installed}, the lock pins ${locked.version}: run \`npm ci --prefix playground\``);
  }
  const bytes = readFileSync(join(modules, name, file));
  const entry = { package: name, version: locked.version, file, integrity: integrity(bytes), bytes: bytes.length };
  const known = previous.find((old) => old.package === name && old.version === entry.version && old.file === file);
  if (known && known.integrity !== entry.integrity) {
    fail(`${name}@${entry.version}/${file} hashes to ${entry.integrity}, but the manifest says ${known.integrity}`);
  }
  manifest.push(entry);
  const path = `${name}@${entry.version}/${file}`;
  outputs.set(path, bytes);
  outputs.set(`${path}.gz`, gzipSync(bytes, { level: 9 }));
  outputs.set(
    `${path}.br`,
    brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }),
  );
}

// Every package the lock installs, with its licence text where it ships one; a package of a
// monorepo that ships none is covered by its repository's (graphiql's, for the Explorer plugin).
const licenceFile = (dir) => readdirSync(dir).find((entry) => /^licen[cs]e(\.md|\.txt)?$/i.test(entry));
const notices = [
  'Licences of the packages whose files careergraph embeds and serves as its playground',
  '(playground/package-lock.json; the UMD builds bundle their dependencies).',
  '',
];
const byRepository = new Map();
const installedPackages = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
for (const [path] of installedPackages) {
  const dir = join(here, path);
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = licenceFile(dir);
  const repository = typeof meta.repository === 'string' ? meta.repository : meta.repository?.url;
  if (file && repository && !byRepository.has(repository)) byRepository.set(repository, join(dir, file));
}
for (const [path, locked] of installedPackages) {
  const dir = join(here, path);
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const repository = typeof meta.repository === 'string' ? meta.repository : meta.repository?.url;
  const file = licenceFile(dir);
  const source = file ? join(dir, file) : byRepository.get(repository);
  notices.push('='.repeat(78), `${name}@${locked.version} — ${meta.license ?? locked.license ?? 'no licence named'}`);
  if (!file && source) notices.push(`(ships no licence file; its repository's, ${repository}:)`);
  if (!source) notices.push('(ships no licence file; the licence named above applies)');
  notices.push('', source ? readFileSync(source, 'utf8').trim() : '', '');
}
outputs.set('LICENSES.txt', Buffer.from(`${notices.join('\n')}\n`));
outputs.set('manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));

// Compressed files are compared by what they decompress to: another zlib may compress the same
// bytes differently.
const decompress = (path, bytes) =>
  path.endsWith('.gz') ? gunzipSync(bytes) : path.endsWith('.br') ? brotliDecompressSync(bytes) : bytes;
const listed = (dir, prefix = '') =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? listed(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`])
    : [];
const differences = [];
for (const [path, bytes] of outputs) {
  const committed = join(vendor, path);
  if (!existsSync(committed)) differences.push(`${path} is missing`);
  else if (!decompress(path, readFileSync(committed)).equals(decompress(path, bytes))) differences.push(`${path} differs`);
}
for (const path of listed(vendor)) if (!outputs.has(path)) differences.push(`${path} is not one of the files`);

if (check) {
  if (differences.length) fail(`playground/vendor is not what package-lock.json gives:\n  ${differences.join('\n  ')}`);
  console.log(`vendor.mjs: playground/vendor matches package-lock.json (${manifest.length} files)`);
} else {
  rmSync(vendor, { recursive: true, force: true });
  for (const [path, bytes] of outputs) {
    mkdirSync(dirname(join(vendor, path)), { recursive: true });
    writeFileSync(join(vendor, path), bytes);
  }
  console.log(`vendor.mjs: wrote ${outputs.size} files to playground/vendor${differences.length ? ` (${differences.length} changed)` : ''}`);
}
