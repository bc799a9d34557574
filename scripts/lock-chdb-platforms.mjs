// chdb lists a native library package per platform as optional dependencies.
// The registry serves only some of them, so `npm install` leaves the others
// out of package-lock.json, and `npm ci` then refuses the lock as out of sync.
// This adds platform-guarded entries for the missing ones (npm skips them on
// other platforms). Run it after changing dependencies: node scripts/lock-chdb-platforms.mjs
import fs from 'node:fs';

const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
const chdb = lock.packages['node_modules/chdb'];
const want = JSON.parse(fs.readFileSync('node_modules/chdb/package.json', 'utf8')).optionalDependencies ?? {};
const platform = {
  'lib-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'lib-darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'lib-linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'lib-linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
};
let added = 0;
for (const [name, version] of Object.entries(want)) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const guard = platform[name.split('/')[1]];
  if (!guard) throw new Error(`no platform guard known for ${name}`);
  lock.packages[key] = { version, license: 'Apache-2.0', optional: true, ...guard };
  added++;
}
chdb.optionalDependencies = want;
fs.writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} chdb platform entries added`);
