// The fragments and query a Relay front end would write for a list of career paths: each card
// refetchable on its own (Relay asks `node(id:)` for it), the list paginated with @connection.
// relay-compiler reads them from here; run.mjs uses what it generates.
const { graphql } = require('relay-runtime');

exports.card = graphql`
  fragment careerPathsCard_careerPath on CareerPath @refetchable(queryName: "CareerPathCardRefetchQuery") {
    slug
    title
    skills {
      importance
      skill {
        name
      }
    }
  }
`;

exports.list = graphql`
  fragment careerPathsList_query on Query
  @refetchable(queryName: "CareerPathListPaginationQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 1 }, cursor: { type: "String" }) {
    careerPaths(first: $count, after: $cursor) @connection(key: "careerPathsList_careerPaths") {
      totalCount
      edges {
        node {
          id
          ...careerPathsCard_careerPath
        }
      }
    }
  }
`;

exports.page = graphql`
  query careerPathsPageQuery {
    ...careerPathsList_query
  }
`;
