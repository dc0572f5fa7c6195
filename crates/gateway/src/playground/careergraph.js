// careergraph's playground: GraphiQL with the Explorer plugin, the README's example queries as
// tabs, and a Headers pane that shows how to send a token. Loaded as a file of its own, so the
// page's Content-Security-Policy needs no inline script.
(function () {
  'use strict';

  // Shown in the Headers pane; sent only once it holds a real token, so the playground works
  // anonymously until someone signs in.
  const PLACEHOLDER = 'Bearer <paste the accessToken from login here>';

  const tabs = [
    {
      query: `# Everything about one career. Press the run button (or Ctrl-Enter).
# The docs pane (the book icon) lists every type; fields that need a role say "Requires ROLE."
query CareerPage {
  careerPath(slug: "backend-developer") {
    title
    summary
    outlook { demand summary }
    skills { importance skill { name category technologies { name kind builtOn { name } } } }
    responsibilities { title description }
    roadmap { title recommendation resources { name kind } }
    industries { name }
    benefits { name }
    salary { average minimum maximum currency period asOf source }
  }
}
`,
    },
    {
      query: `# What someone who knows Python and PostgreSQL still has to learn.
query SkillGap {
  skillGap(careerPath: "backend-developer", have: ["python", "postgresql"]) {
    coverage
    missing {
      importance
      skill { name }
      technologies { name }
      roadmapSteps { title resources { name } }
    }
  }
}
`,
    },
    {
      query: `# Skills a page at a time, and pay by country.
query BrowseSkills {
  skills(first: 5, filter: { category: TECHNICAL }) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { name technologies { name } careerPaths { importance careerPath { title } } } }
  }
  salaryStats(groupBy: [COUNTRY]) {
    country currency period recordCount meanAverage lowestMinimum highestMaximum
  }
}
`,
    },
    {
      query: `# Sign in, then put the accessToken into the Headers pane below, replacing the
# placeholder after "Bearer ", and run the query in the next tab.
mutation SignIn($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) {
    accessToken
    user { email role }
  }
}
`,
      variables: '{\n  "email": "you@example.com",\n  "password": "your password"\n}',
    },
    {
      query: `# Needs a token in the Headers pane: salary detail is for signed-in viewers.
query SalaryDetail {
  me { email role }
  careerPath(slug: "backend-developer") {
    salaryRecords { country average percentile25 median percentile75 sampleSize notes }
  }
}
`,
    },
  ];

  const fetchGraphQL = GraphiQL.createFetcher({ url: '/graphql' });
  function fetcher(params, options) {
    const headers = Object.assign({}, options && options.headers);
    if (headers.Authorization === PLACEHOLDER) {
      delete headers.Authorization;
    }
    return fetchGraphQL(params, Object.assign({}, options, { headers: headers }));
  }

  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: tabs,
      defaultHeaders: JSON.stringify({ Authorization: PLACEHOLDER }, null, 2),
      defaultEditorToolsVisibility: 'headers',
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    }),
  );
})();
