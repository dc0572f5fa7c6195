// Runs what relay-compiler generated against a live server with relay-runtime, as a Relay app
// would: the first page of career paths, the next page by its cursor (@connection), then one card
// refetched on its own through `node(id:)` (@refetchable), read back through Relay's store.
//
//   CAREERGRAPH_URL=http://127.0.0.1:8080 npm start --prefix tests/clients/relay
//
// Prints what it read; exits non-zero, saying why, when anything is off.
import assert from 'node:assert/strict';
import relay from 'relay-runtime';

import CardRefetch from './src/__generated__/CareerPathCardRefetchQuery.graphql.js';
import Pagination from './src/__generated__/CareerPathListPaginationQuery.graphql.js';
import CardFragment from './src/__generated__/careerPathsCard_careerPath.graphql.js';
import ListFragment from './src/__generated__/careerPathsList_query.graphql.js';

const { Environment, Network, RecordSource, Store, fetchQuery, getSelector } = relay;
const url = process.env.CAREERGRAPH_URL;
assert.ok(url, 'CAREERGRAPH_URL is needed');

const sent = [];
const network = Network.create(async (params, variables) => {
  sent.push(params.name);
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: params.text, variables, operationName: params.name }),
  });
  const body = await response.json();
  assert.equal(body.errors, undefined, `${params.name}: ${JSON.stringify(body.errors)}`);
  return body;
});
const environment = new Environment({ network, store: new Store(new RecordSource()) });
const read = (fragment, reference) => environment.lookup(getSelector(fragment, reference)).data;

// A page of one, then the next one by the cursor Relay keeps in the connection.
const page = async (cursor) => {
  const root = await fetchQuery(environment, Pagination, { count: 1, cursor }).toPromise();
  return read(ListFragment, root).careerPaths;
};
const first = await page(null);
assert.equal(first.edges.length, 1);
assert.ok(first.totalCount >= 2, `at least two published paths to page through: ${first.totalCount}`);
const paged = environment.getStore().getSource().toJSON();
const connection = Object.values(paged).find((record) => record.__typename === 'CareerPathConnection');
const pageInfo = paged[connection.pageInfo.__ref];
assert.equal(pageInfo.hasNextPage, true, JSON.stringify(pageInfo));
// Relay's connection handler appends the next page to the edges it has.
const second = await page(pageInfo.endCursor);
assert.equal(second.edges.length, 2);
assert.equal(second.edges[0].node.id, first.edges[0].node.id);
assert.notEqual(second.edges[1].node.id, first.edges[0].node.id, 'the next page holds the next path');

// The first card, refetched alone through node(id:).
const card = first.edges[0].node;
const shown = read(CardFragment, card);
const refetched = await fetchQuery(environment, CardRefetch, { id: card.id }).toPromise();
assert.ok(refetched.node, 'node(id:) found the card');
const again = read(CardFragment, refetched.node);
assert.deepEqual(again, shown, 'the refetched card reads as the listed one');
assert.ok(again.slug && again.title && again.skills.length > 0, JSON.stringify(again));

// An id that is nobody's refetches as null, as Relay expects of node(id:).
const gone = await fetchQuery(environment, CardRefetch, { id: '00000000-0000-4000-8000-000000000000' }).toPromise();
assert.equal(gone.node, null);

assert.deepEqual(sent, ['CareerPathListPaginationQuery', 'CareerPathListPaginationQuery', 'CareerPathCardRefetchQuery', 'CareerPathCardRefetchQuery']);
console.log(`relay: paged ${first.edges[0].node.id} then ${second.edges[1].node.id}; refetched ${again.slug} ("${again.title}") through node(id:)`);
