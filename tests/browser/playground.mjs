// Drives careergraph's playground in Debian's chromium, as an explorer would, with the server's
// default assets (what the binary carries) and every request elsewhere aborted: the docs pane
// lists the schema, the first example answers, the sign-in pane signs in once and every tab (a
// new one too) runs as that user, the session is renewed before its token expires, a password
// typed into a tab's variables is not kept, sign-out ends the session, and after a reload neither
// storage holds a password or a token. Saves a screenshot of the signed-in playground.
//
// A second server (CAREERGRAPH_CDN_URL) sends the page's scripts to the CDN, which this browser
// cannot reach: its page must say so in words.
//
// Run by `cargo test` (tests/api/playground.rs) with CAREERGRAPH_URL, CAREERGRAPH_CDN_URL,
// CAREERGRAPH_EMAIL, CAREERGRAPH_PASSWORD and SCREENSHOT set; exits non-zero, saying why, on any
// failure.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const base = process.env.CAREERGRAPH_URL;
const cdnBase = process.env.CAREERGRAPH_CDN_URL;
const { CAREERGRAPH_EMAIL: email, CAREERGRAPH_PASSWORD: password, SCREENSHOT: screenshot } = process.env;
assert.ok(base && cdnBase && email && password && screenshot, 'CAREERGRAPH_URL, _CDN_URL, _EMAIL, _PASSWORD and SCREENSHOT are needed');
const allowed = new URL(base).hostname;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  // As root in a container, and without the background traffic a closed network refuses.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let page;
try {
  // A new context is a fresh, empty profile.
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const outside = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === allowed) return route.continue();
    outside.push(url.href);
    return route.abort();
  });
  page = await context.newPage();
  // The page's clock, so the test can move it to just before the token expires.
  await page.clock.install();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  // Chromium logs an answer with status 401 (a bad token, sent on purpose below) as an error.
  page.on('console', (message) => message.type() === 'error' && !/status of 401/.test(message.text())
    && problems.push(message.text()));
  // Every GraphQL request: which operation, and with which Authorization.
  const sent = [];
  page.on('request', (request) => {
    if (!request.url().endsWith('/graphql') || request.method() !== 'POST') return;
    const body = JSON.parse(request.postData() ?? '{}');
    sent.push({ query: body.query ?? '', authorization: request.headers().authorization ?? null });
  });
  const tokens = [];
  page.on('response', async (response) => {
    if (!response.url().endsWith('/graphql') || response.request().method() !== 'POST') return;
    const data = (await response.json().catch(() => ({}))).data ?? {};
    for (const payload of [data.login, data.refreshSession]) {
      if (payload?.accessToken) tokens.push(payload.accessToken, payload.refreshToken);
    }
  });

  const response = await page.goto(`${base}/`);
  assert.match(response.headers()['content-security-policy'] ?? '', /script-src 'self';/, 'the page has its policy');
  await page.waitForSelector('.graphiql-container', { timeout: 30000 });

  // The docs pane lists the schema, so introspection worked.
  await page.click('button[aria-label="Show Documentation Explorer"]');
  await page.waitForSelector('.graphiql-doc-explorer a:has-text("CareerPath")', { timeout: 15000 });
  await page.click('.graphiql-doc-explorer a:has-text("Query")');
  await page.waitForSelector('.graphiql-doc-explorer :text("careerPath")');

  const result = () => page.$eval('.result-window .CodeMirror', (element) => element.CodeMirror.getValue());
  const run = async (expected) => {
    // GraphiQL picks the operation to run from the query editor's cursor, as a user's click sets it.
    await page.click('.graphiql-query-editor .CodeMirror-lines', { position: { x: 4, y: 4 } });
    // GraphiQL takes the operation's name from the editor a moment after a change (a debounce):
    // run before that, and it runs the name the tab had before.
    await page.waitForTimeout(500);
    await page.click('button.graphiql-execute-button');
    await page.waitForFunction(
      (text) => document.querySelector('.result-window')?.textContent.includes(text), expected, { timeout: 15000 });
    return JSON.parse(await result());
  };
  const editor = (selector, value) => page.$eval(selector, (element, text) => element.CodeMirror.setValue(text), value);
  const queryEditor = (text) => editor('.graphiql-query-editor .CodeMirror', text);
  const variablesEditor = async (text) => {
    await page.click('.graphiql-editor-tools button:has-text("Variables")');
    await editor('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror', text);
  };
  const badge = () => page.textContent('.careergraph-badge');
  // The sidebar button toggles the pane: "Show Sign in" when closed, "Hide Sign in" when open.
  const openSignIn = async () => {
    const button = page.locator('.graphiql-sidebar button[aria-label$=" Sign in"]');
    if ((await button.getAttribute('aria-label')) === 'Show Sign in') await button.click();
  };

  // The first example tab answers with real data, anonymously.
  await run('Backend Developer');
  assert.match(await badge(), /not signed in/);

  // Sign in once, in the sign-in pane.
  await openSignIn();
  await page.fill('.careergraph-sign-in input[name="email"]', email);
  await page.fill('.careergraph-sign-in input[name="password"]', password);
  await page.click('.careergraph-sign-in button[type="submit"]');
  await page.waitForSelector(`.careergraph-signed-in:has-text("${email}")`, { timeout: 15000 });
  assert.match(await badge(), new RegExp(`signed in as ${email.replace('.', '\\.')} \\(VIEWER\\)`));
  const login = sent.find((request) => request.query.includes('login('));
  assert.ok(login && login.authorization === null, 'login went out without a token');

  // An example tab runs as that user: what only a viewer may read answers.
  await page.click('.graphiql-tab-button:has-text("SalaryDetail")');
  const detail = await run(email);
  assert.equal(detail.errors, undefined, JSON.stringify(detail.errors));
  assert.equal(detail.data.me.role, 'VIEWER');
  assert.ok(Array.isArray(detail.data.careerPath.salaryRecords), 'salary detail answered');
  await page.screenshot({ path: screenshot });

  // So does a new tab.
  await page.click('button[aria-label="New tab"]');
  await queryEditor('query WhoAmI { me { email role } }');
  assert.equal((await run(email)).data.me.email, email);

  // Near the token's expiry the session is renewed, and tabs carry on with the new token.
  const firstToken = tokens[0];
  await page.clock.fastForward('12:00');
  for (let waited = 0; !sent.some((request) => request.query.includes('refreshSession(')); waited += 100) {
    assert.ok(waited < 15000, 'the session was renewed before the token expired');
    await page.waitForTimeout(100);
  }
  for (let waited = 0; tokens.length < 4; waited += 100) {
    assert.ok(waited < 15000, 'refreshSession answered a new token pair');
    await page.waitForTimeout(100);
  }
  await page.click('.graphiql-query-editor .CodeMirror-lines', { position: { x: 4, y: 4 } });
  await page.waitForTimeout(500);
  await page.click('button.graphiql-execute-button');
  for (let waited = 0; sent.at(-1)?.query !== 'query WhoAmI { me { email role } }'; waited += 100) {
    assert.ok(waited < 15000, 'the tab ran again');
    await page.waitForTimeout(100);
  }
  assert.equal(sent.at(-1).authorization, `Bearer ${tokens[2]}`, 'the tab sent the renewed token');
  assert.notEqual(tokens[2], firstToken);

  // A Headers pane that sets Authorization wins over the session.
  await page.click('.graphiql-editor-tools button:has-text("Headers")');
  await editor('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror', '{ "Authorization": "Bearer not-a-token" }');
  const typed = await run('UNAUTHENTICATED');
  assert.equal(typed.errors[0].extensions.code, 'UNAUTHENTICATED', JSON.stringify(typed));
  await editor('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror', '{}');

  // A password typed into a tab's variables (a hand-written sign-in) works, and is not kept.
  await page.click('button[aria-label="New tab"]');
  await queryEditor('mutation HandWritten($email: String!, $password: String!) {\n  login(input: { email: $email, password: $password }) { user { email } }\n}');
  await variablesEditor(JSON.stringify({ email, password }, null, 2));
  assert.equal((await run(email)).data.login.user.email, email);

  // Sign out: the server ends the session, and tabs run anonymously again.
  await openSignIn();
  await page.waitForSelector('.careergraph-session button:has-text("Sign out")');
  await page.click('.careergraph-session button:has-text("Sign out")');
  await page.waitForSelector('.careergraph-sign-in', { timeout: 15000 });
  assert.match(await badge(), /not signed in/);
  for (let waited = 0; !sent.some((request) => request.query.includes('logout(')); waited += 100) {
    assert.ok(waited < 15000, 'sign-out called logout');
    await page.waitForTimeout(100);
  }
  await page.click('.graphiql-tab-button:has-text("WhoAmI")');
  const anonymous = await run('"me"');
  assert.equal(anonymous.data?.me ?? null, null, JSON.stringify(anonymous));

  // Nothing secret was kept, before or after a reload, and a reload starts signed out.
  const secrets = [password, ...tokens];
  const stored = () => page.evaluate(() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)]));
  const check = (where, kept) => {
    for (const secret of secrets) assert.ok(!kept.includes(secret), `${where}, the browser's storage holds a secret: ${kept}`);
    assert.ok(kept.includes('HandWritten'), `${where}, GraphiQL kept its tabs: ${kept.slice(0, 200)}`);
  };
  check('before the reload', await stored());
  await page.reload();
  await page.waitForSelector('.graphiql-container', { timeout: 30000 });
  check('after the reload', await stored());
  assert.match(await badge(), /not signed in/);

  assert.deepEqual(outside, [], 'the page asked for nothing but the server');
  assert.deepEqual(problems, [], 'the page ran without errors');

  // With the CDN chosen and out of reach, the page says what did not load and where from.
  const offline = await context.newPage();
  await offline.goto(`${cdnBase}/`);
  await offline.waitForFunction(() => document.getElementById('graphiql')?.textContent.includes('cannot start'), null, { timeout: 30000 });
  const said = await offline.textContent('#graphiql');
  assert.match(said, /did not load from the CDN/, said);
  assert.match(said, /unset CAREERGRAPH_PLAYGROUND_ASSETS/, said);
  assert.ok(outside.some((url) => url.startsWith('https://cdn.jsdelivr.net/npm/')), 'the page tried the CDN');
  console.log('playground: docs, example, one sign-in for every tab, renewal, sign-out and no secret kept; screenshot at', screenshot);
} catch (error) {
  // What the page showed when it failed, beside the screenshot's path.
  if (page) {
    await page.screenshot({ path: screenshot.replace(/\.png$/, '.failure.png') }).catch(() => {});
    const shown = await page.evaluate(() => document.querySelector('.result-window')?.textContent ?? '').catch(() => '');
    console.error(`the result pane showed: ${shown.slice(0, 2000)}`);
  }
  throw error;
} finally {
  await browser.close();
}
