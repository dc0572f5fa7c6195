// Schema change review: compares schema.graphql with a base commit's (SCHEMA_BASE, by default the
// previous commit) using GraphQL Inspector, prints every change, and fails when a breaking change
// is not named in CHANGELOG.md's "Unreleased" section: the affected type or field named there in
// backticks (`UserRole`, `SalaryRecord.asOf`, `deleteCareerPath`) counts as announced. .ci/run runs it; client developers read CHANGELOG.md.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const base = process.env.SCHEMA_BASE || 'HEAD~1';

let previous;
try {
  previous = execFileSync('git', ['show', `${base}:schema.graphql`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
} catch {
  console.log(`schema review: ${base} has no schema.graphql; nothing to compare`);
  process.exit(0);
}
const current = readFileSync(`${root}schema.graphql`, 'utf8');
const changes = await diff(buildSchema(previous), buildSchema(current));

const changelog = readFileSync(`${root}CHANGELOG.md`, 'utf8');
const unreleased = changelog.split(/^## Unreleased$/m)[1]?.split(/^## /m)[0] ?? '';
const announced = new Set(
  [...unreleased.matchAll(/`([^`]+)`/g)].flatMap((match) => match[1].split(/[^A-Za-z0-9_]+/)).filter(Boolean),
);

let unannounced = 0;
for (const change of changes) {
  const level = change.criticality.level;
  const [type, field] = (change.path ?? '').split('.');
  const named = announced.has(type) || (field !== undefined && announced.has(field));
  const missing = level === CriticalityLevel.Breaking && !named;
  if (missing) unannounced += 1;
  console.log(`${missing ? 'UNANNOUNCED ' : ''}${level}: ${change.message}`);
}
console.log(`schema review against ${base}: ${changes.length} changes, ${changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking).length} breaking`);
if (unannounced > 0) {
  console.error(`${unannounced} breaking change(s) are not listed in CHANGELOG.md under "Unreleased": name each affected type there`);
  process.exit(1);
}
