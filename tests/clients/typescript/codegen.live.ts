// The same types, generated once more from the live server's introspection (URL mode), as
// graphql-codegen users point it at a running API.
import type { CodegenConfig } from '@graphql-codegen/cli';
import { output } from './codegen';

const url = process.env.CAREERGRAPH_URL;
if (!url) throw new Error('CAREERGRAPH_URL names the server to introspect');

const config: CodegenConfig = {
  schema: `${url}/graphql`,
  documents: ['../../operations/*.graphql'],
  generates: { 'src/gql-live/': output },
  silent: true,
};

export default config;
