// Drives careergraph's playground in Debian's chromium, as an explorer would: the page loads
// from the server alone (every request elsewhere is aborted), the docs pane lists the schema,
// the first example answers, the SignIn tab signs in, and with the token in the Headers pane a
// VIEWER-only field answers. Saves a screenshot of a real answer.
//
// Run by `cargo test` (tests/api/playground.rs) with CAREERGRAPH_URL, CAREERGRAPH_EMAIL,
// CAREERGRAPH_PASSWORD and SCREENSHOT set; exits non-zero, saying why, on any failure.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const base = process.env.CAREERGRAPH_URL;
const { CAREERGRAPH_EMAIL: email, CAREERGRAPH_PASSWORD: password, SCREENSHOT: screenshot } = process.env;
assert.ok(base && email && password && screenshot, 'CAREERGRAPH_URL, _EMAIL, _PASSWORD and SCREENSHOT are needed');
const allowed = new URL(base).hostname;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  // As root in a container, and without the background traffic a closed network refuses.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
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
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));

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
    await page.click('button.graphiql-execute-button');
    await page.waitForFunction(
      (text) => document.querySelector('.result-window')?.textContent.includes(text), expected, { timeout: 15000 });
  };
  const editor = (selector, value) => page.$eval(selector, (element, text) => element.CodeMirror.setValue(text), value);

  // The first example tab answers with real data.
  await run('Backend Developer');
  await page.screenshot({ path: screenshot });

  // Sign in with the SignIn tab.
  await page.click('.graphiql-tab-button:has-text("SignIn")');
  await page.click('.graphiql-editor-tools button:has-text("Variables")');
  await editor('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror', JSON.stringify({ email, password }));
  await run('accessToken');
  const token = JSON.parse(await result()).data.login.accessToken;
  assert.ok(token, 'login answered a token');

  // Paste it into the Headers pane and read what only a viewer may read.
  await page.click('.graphiql-tab-button:has-text("SalaryDetail")');
  await page.click('.graphiql-editor-tools button:has-text("Headers")');
  await editor('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror',
    JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2));
  await run(email);
  const answer = JSON.parse(await result());
  assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
  assert.equal(answer.data.me.role, 'VIEWER');
  assert.ok(Array.isArray(answer.data.careerPath.salaryRecords), 'salary detail answered');

  assert.deepEqual(outside, [], 'the page asked for nothing but the server');
  assert.deepEqual(problems, [], 'the page ran without errors');
  console.log('playground: docs, example, sign-in and a VIEWER field all work; screenshot at', screenshot);
} finally {
  await browser.close();
}
