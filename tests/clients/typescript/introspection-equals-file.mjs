// The schema as introspection shows it equals schema.graphql: what graphql-js rebuilds from the
// live server's answer to its standard introspection query (every option on) prints the same as
// the file. Introspection does not carry where directives are applied, so `@auth` uses are taken
// out of the file first; `@deprecated` and `@specifiedBy` are carried, so they stay.
// Run by `cargo test` (tests/api/typescript_client.rs) with CAREERGRAPH_URL set.
import { readFileSync } from 'node:fs';
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  parse,
  print,
  printSchema,
  visit,
} from 'graphql';

const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});
const response = await fetch(`${process.env.CAREERGRAPH_URL}/graphql`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query }),
});
const { data, errors } = await response.json();
if (errors) {
  console.error('introspection failed:', JSON.stringify(errors));
  process.exit(1);
}
const carried = new Set(['deprecated', 'specifiedBy']);
const file = visit(parse(readFileSync(new URL('../../../schema.graphql', import.meta.url), 'utf8')), {
  Directive: (node) => (carried.has(node.name.value) ? undefined : null),
});
const printed = (schema) => printSchema(lexicographicSortSchema(schema));
const live = printed(buildClientSchema(data));
const expected = printed(buildSchema(print(file)));
if (live !== expected) {
  const [a, b] = [live.split('\n'), expected.split('\n')];
  const at = a.findIndex((line, index) => line !== b[index]);
  console.error(`introspection differs from schema.graphql at line ${at + 1}:`);
  console.error(`  introspection: ${a.slice(Math.max(0, at - 2), at + 3).join('\n                 ')}`);
  console.error(`  schema.graphql: ${b.slice(Math.max(0, at - 2), at + 3).join('\n                  ')}`);
  process.exit(1);
}
console.log(`introspection equals schema.graphql (${live.split('\n').length} lines)`);
