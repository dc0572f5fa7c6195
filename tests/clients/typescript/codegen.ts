// Types for the operations a front end ships, from the committed contract (schema.graphql).
import type { CodegenConfig } from '@graphql-codegen/cli';

export const output = {
  preset: 'client' as const,
  config: {
    // Documents as strings with their types attached: no GraphQL runtime in the client.
    documentMode: 'string' as const,
    enumsAsTypes: true,
    useTypeImports: true,
    // The custom scalars, as the README maps them to TypeScript.
    scalars: { Date: 'string', DateTime: 'string', JSON: 'unknown' },
    strictScalars: true,
  },
  presetConfig: { fragmentMasking: false },
};

const config: CodegenConfig = {
  schema: '../../../schema.graphql',
  documents: ['../../operations/*.graphql'],
  generates: { 'src/gql/': output },
  silent: true,
};

export default config;
