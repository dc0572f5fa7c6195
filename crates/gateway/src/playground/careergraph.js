// careergraph's playground: GraphiQL with the Explorer plugin, the README's example queries as
// tabs, and a sign-in pane whose session every tab uses. Loaded as a file of its own, so the
// page's Content-Security-Policy needs no inline script.
//
// What the page keeps, and where: GraphiQL keeps tabs, their queries and variables, and the
// query history in localStorage (`graphiql:*`), and this script writes no password or token
// there: the sign-in form's e-mail and password go to `login` and nowhere else, the session
// lives in this page's memory only (a reload signs out), and any value whose key names a
// password or token is blanked before GraphiQL's storage gets it. Headers typed into a tab are
// not kept (GraphiQL's default).
(function () {
  'use strict';

  const root = document.getElementById('graphiql');
  const missing = ['React', 'ReactDOM', 'GraphiQL', 'GraphiQLPluginExplorer'].filter(
    (name) => typeof window[name] === 'undefined',
  );
  if (missing.length > 0) {
    const from = root.dataset.assetsFrom || 'the server';
    const advice = from.startsWith('the CDN')
      ? 'This browser cannot reach it: unset CAREERGRAPH_PLAYGROUND_ASSETS and the server serves the files it carries.'
      : 'Reload the page; if that does not help, the server log says why.';
    root.textContent = `The playground cannot start: its scripts (${missing.join(', ')}) did not load from ${from}. ${advice} The API answers without the playground: POST a query to /graphql.`;
    return;
  }

  const h = React.createElement;
  const GRAPHQL = '/graphql';
  // Earlier versions of this page put this in every tab's Headers pane; tabs GraphiQL kept from
  // then still hold it, and it is no token.
  const OLD_PLACEHOLDER = 'Bearer <paste the accessToken from login here>';

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
      query: `# Salary detail is for signed-in viewers: sign in with the person icon at the left
# (every tab, new ones too, then runs as you), and run this.
query SalaryDetail {
  me { email role }
  careerPath(slug: "backend-developer") {
    salaryRecords { country average percentile25 median percentile75 sampleSize notes }
  }
}
`,
    },
  ];

  // The session, in memory only. Components that show it subscribe to changes.
  let session = null;
  let notice = null;
  let refreshTimer = null;
  const subscribers = new Set();
  const changed = () => subscribers.forEach((subscriber) => subscriber());
  function useSession() {
    const [, rerender] = React.useState(0);
    React.useEffect(() => {
      const subscriber = () => rerender((count) => count + 1);
      subscribers.add(subscriber);
      return () => subscribers.delete(subscriber);
    }, []);
    return { session, notice };
  }

  async function call(query, variables) {
    const response = await fetch(GRAPHQL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query, variables }),
      credentials: 'omit',
    });
    const body = await response.json();
    if (body.errors && body.errors.length > 0) throw new Error(body.errors.map((error) => error.message).join('; '));
    return body.data;
  }

  const SESSION = 'accessToken accessTokenExpiresAt refreshToken user { email role }';

  function begin(payload) {
    session = {
      accessToken: payload.accessToken,
      expiresAt: Date.parse(payload.accessTokenExpiresAt),
      refreshToken: payload.refreshToken,
      user: payload.user,
    };
    notice = null;
    clearTimeout(refreshTimer);
    // Three quarters into the token's life: early enough for a slow answer, rare enough to cost
    // nothing.
    refreshTimer = setTimeout(refresh, Math.max(1000, (session.expiresAt - Date.now()) * 0.75));
    changed();
  }

  async function refresh() {
    const current = session;
    if (!current) return;
    try {
      const data = await call(
        `mutation RefreshSession($input: RefreshSessionInput!) { refreshSession(input: $input) { ${SESSION} } }`,
        { input: { refreshToken: current.refreshToken } },
      );
      if (session === current) begin(data.refreshSession);
    } catch (error) {
      if (session === current) {
        session = null;
        notice = `Signed out: the session could not be renewed (${error.message}).`;
        changed();
      }
    }
  }

  async function signIn(email, password) {
    const data = await call(`mutation SignIn($input: LoginInput!) { login(input: $input) { ${SESSION} } }`, {
      input: { email, password },
    });
    begin(data.login);
  }

  async function signOut() {
    const current = session;
    session = null;
    clearTimeout(refreshTimer);
    changed();
    if (!current) return;
    try {
      await call('mutation SignOut($input: LogoutInput!) { logout(input: $input) { loggedOut } }', {
        input: { refreshToken: current.refreshToken },
      });
      notice = 'Signed out.';
    } catch (error) {
      notice = `Signed out here, but the server did not confirm it (${error.message}); the session ends when its token expires.`;
    }
    changed();
  }

  function SignInPane() {
    const state = useSession();
    const [email, setEmail] = React.useState('');
    const [password, setPassword] = React.useState('');
    const [busy, setBusy] = React.useState(false);
    const [failure, setFailure] = React.useState(null);
    const paragraph = (text) => h('p', { className: 'careergraph-note' }, text);
    if (state.session) {
      const { email: signedIn, role } = state.session.user;
      return h(
        'div',
        { className: 'careergraph-session' },
        h('div', { className: 'graphiql-doc-explorer-title' }, 'Signed in'),
        h('p', { className: 'careergraph-signed-in' }, `Signed in as ${signedIn} (${role})`),
        paragraph(
          'Every tab, new ones too, runs as you, unless its Headers pane sets Authorization itself. ' +
            'The session lives in this page only: it is renewed before it expires and ends when the page is reloaded or closed.',
        ),
        h('button', { type: 'button', className: 'graphiql-button', onClick: signOut }, 'Sign out'),
      );
    }
    const submit = async (event) => {
      event.preventDefault();
      setBusy(true);
      setFailure(null);
      try {
        await signIn(email, password);
        setPassword('');
      } catch (error) {
        setFailure(error.message);
      } finally {
        setBusy(false);
      }
    };
    const field = (label, props) =>
      h('label', { className: 'careergraph-field' }, label, h('input', Object.assign({ required: true }, props)));
    return h(
      'form',
      { className: 'careergraph-sign-in', onSubmit: submit },
      h('div', { className: 'graphiql-doc-explorer-title' }, 'Sign in'),
      state.notice && paragraph(state.notice),
      field('E-mail', {
        type: 'email', name: 'email', autoComplete: 'username', value: email,
        onChange: (event) => setEmail(event.target.value),
      }),
      field('Password', {
        type: 'password', name: 'password', autoComplete: 'current-password', value: password,
        onChange: (event) => setPassword(event.target.value),
      }),
      h('button', { type: 'submit', className: 'graphiql-button', disabled: busy }, busy ? 'Signing in…' : 'Sign in'),
      failure && h('p', { className: 'careergraph-note', role: 'alert' }, failure),
      paragraph('The e-mail and password go to the login mutation and are not kept anywhere, not even in this tab.'),
    );
  }

  function SessionBadge() {
    const state = useSession();
    const text = state.session ? `signed in as ${state.session.user.email} (${state.session.user.role})` : 'not signed in';
    return h(
      'span',
      { className: 'careergraph-badge' },
      'careergraph',
      h('small', { style: { display: 'block', fontSize: '0.55em', fontWeight: 'normal' } }, text),
    );
  }

  const signInPlugin = {
    title: 'Sign in',
    icon: () =>
      h(
        'svg',
        { viewBox: '0 0 24 24', width: '1em', height: '1em', fill: 'none', stroke: 'currentColor', strokeWidth: 1.5, 'aria-hidden': true },
        h('circle', { cx: 12, cy: 8, r: 4 }),
        h('path', { d: 'M4 21c0-4.4 3.6-8 8-8s8 3.6 8 8' }),
      ),
    content: SignInPane,
  };

  // Tabs send the session's token unless they set Authorization themselves: what a user types wins.
  const fetchGraphQL = GraphiQL.createFetcher({ url: GRAPHQL });
  function fetcher(params, options) {
    const headers = Object.assign({}, options && options.headers);
    const typed = Object.keys(headers).find((name) => name.toLowerCase() === 'authorization');
    if (typed && headers[typed] === OLD_PLACEHOLDER) delete headers[typed];
    if ((!typed || headers[typed] === undefined) && session) headers.Authorization = `Bearer ${session.accessToken}`;
    return fetchGraphQL(params, Object.assign({}, options, { headers }));
  }

  // GraphiQL's storage, with secrets blanked on the way in: a password typed into a tab's
  // variables (a hand-written login or changePassword) would otherwise be kept in the tab state
  // and the history for good.
  const SECRET = /password|token/i;
  function scrubbed(value, key) {
    if (typeof value === 'string') return key && SECRET.test(key) ? '' : scrubbedText(value);
    if (Array.isArray(value)) return value.map((item) => scrubbed(item));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, scrubbed(item, name)]));
    }
    return value;
  }
  function scrubbedText(text) {
    if (!SECRET.test(text)) return text;
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === 'object') return JSON.stringify(scrubbed(parsed), null, 2);
    } catch (_) {
      // Not JSON (a query, or variables half typed): blank string values after a secret's key.
    }
    return text.replace(/("?\w*(?:password|token)\w*"?\s*:\s*)"(?:[^"\\\n]|\\.)*"?/gi, '$1""');
  }
  const storage = {
    getItem: (key) => localStorage.getItem(key),
    setItem: (key, value) => localStorage.setItem(key, scrubbedText(value)),
    removeItem: (key) => localStorage.removeItem(key),
    clear: () => Object.keys(localStorage).filter((key) => key.startsWith('graphiql:')).forEach((key) => localStorage.removeItem(key)),
    get length() {
      return Object.keys(localStorage).filter((key) => key.startsWith('graphiql:')).length;
    },
  };

  ReactDOM.createRoot(root).render(
    h(
      GraphiQL,
      {
        fetcher,
        storage,
        defaultTabs: tabs,
        plugins: [signInPlugin, GraphiQLPluginExplorer.explorerPlugin()],
      },
      h(GraphiQL.Logo, null, h(SessionBadge)),
    ),
  );
})();
