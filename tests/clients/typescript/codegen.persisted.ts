// The same operations as persisted documents: the client preset also writes
// `persisted-documents.json` (hash → document), the manifest a server's safelist reads.
import type { CodegenConfig } from '@graphql-codegen/cli';
import { output } from './codegen';

const config: CodegenConfig = {
  schema: '../../../schema.graphql',
  documents: ['../../operations/*.graphql'],
  generates: {
    'src/gql-persisted/': { ...output, presetConfig: { ...output.presetConfig, persistedDocuments: true } },
  },
  silent: true,
};

export default config;
