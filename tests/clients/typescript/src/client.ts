// A small client of the generated, typed documents: what a front end would write. `tsc` checks it
// against the types graphql-codegen generated from schema.graphql; `node dist/client.js` runs it
// against the live server and checks the answers have the generated shape.
import { createClient, type Client } from 'graphql-ws';
import WebSocket = require('ws');

import {
  CareerPathPageDocument,
  CareerPathPublishedDocument,
  ContentChangedDocument,
  CreateCareerPathDocument,
  PublishCareerPathDocument,
  SignInDocument,
  type CareerPathPageQuery,
  type CareerPathPublishedSubscription,
  type ContentChangedSubscription,
  type SignInMutation,
  type TypedDocumentString,
} from './gql/graphql';

declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

const url = process.env.CAREERGRAPH_URL;
const email = process.env.CAREERGRAPH_EMAIL;
const password = process.env.CAREERGRAPH_PASSWORD;
const editorToken = process.env.CAREERGRAPH_EDITOR_TOKEN;

async function execute<Result, Variables>(
  document: TypedDocumentString<Result, Variables>,
  variables: Variables,
  token?: string,
): Promise<Result> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const body = (await response.json()) as { data?: Result; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(`errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`the answer lacks ${what}`);
}

// A graphql-ws client of the server's `/graphql`, signed in with `token` when given; resolves once
// the server has acknowledged it.
async function connect(token?: string): Promise<Client> {
  const client = createClient({
    url: `${(url ?? '').replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
    lazy: false,
    retryAttempts: 0,
  });
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('error', reject);
  });
  return client;
}

// The first event of a typed subscription that `wanted` accepts.
function firstEvent<Result, Variables>(
  client: Client,
  document: TypedDocumentString<Result, Variables>,
  variables: Variables,
  wanted: (event: Result) => boolean,
): Promise<Result> {
  return new Promise<Result>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no event of ${document.toString().slice(0, 40)}`)), 10_000);
    const stop = client.subscribe<Result>(
      { query: document.toString(), variables: variables as Record<string, unknown> },
      {
        next: ({ data, errors }) => {
          if (errors) return reject(new Error(`errors: ${JSON.stringify(errors)}`));
          if (data && wanted(data)) {
            clearTimeout(timer);
            stop();
            resolve(data);
          }
        },
        error: reject,
        complete: () => undefined,
      },
    );
  });
}

// An editor's draft, published while an editor and an anonymous reader follow the feed.
async function followPublication(): Promise<void> {
  const anyone = await connect();
  const editors = await connect(editorToken);
  const slug = `ts-client-${Date.now()}`;
  let id = '';
  const published = firstEvent(anyone, CareerPathPublishedDocument, {}, (event: CareerPathPublishedSubscription) =>
    event.careerPathPublished?.slug === slug,
  );
  const changed = firstEvent(editors, ContentChangedDocument, { entity: 'CAREER_PATH' }, (event: ContentChangedSubscription) =>
    event.contentChanged?.entityId === id && event.contentChanged.action === 'publish',
  );
  // The subscriptions start as the server reads them; give it that moment.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const input = {
    slug,
    title: 'TypeScript Developer',
    summary: 'Writes typed front ends.',
    description: 'Builds the clients of typed APIs.',
    outlook: { demand: 'HIGH' as const, summary: 'Wanted.' },
  };
  const created = await execute(CreateCareerPathDocument, { input }, editorToken);
  id = created.createCareerPath?.careerPath.id ?? '';
  await execute(PublishCareerPathDocument, { id, expectedVersion: 1 }, editorToken);
  const news = await published;
  check(news.careerPathPublished?.careerPathId === id && news.careerPathPublished.kind === 'CHANGED', 'the publication');
  check(!Number.isNaN(Date.parse(news.careerPathPublished?.publishedAt ?? '')), 'the publication time');
  const change = await changed;
  const fields: string[] = change.contentChanged?.fields ?? [];
  check(change.contentChanged?.version === 2 && fields.includes('status'), 'the change event');
  await anyone.dispose();
  await editors.dispose();
}

async function main(): Promise<void> {
  const page: CareerPathPageQuery = await execute(CareerPathPageDocument, { slug: 'backend-developer' });
  const path = page.careerPath;
  check(path?.title === 'Backend Developer', 'the career path title');
  // Each of these is typed: a field the operation did not select would not compile.
  const demand: 'HIGH' | 'MODERATE' | 'LOW' | undefined = path?.outlook.demand;
  const asOf: string | undefined = path?.salary?.asOf;
  const firstSkill = path?.skills[0]?.skill;
  check(demand === 'HIGH', 'an outlook demand of the generated enum');
  check(asOf === '2023-03-01', 'a Date as YYYY-MM-DD');
  check(typeof firstSkill?.name === 'string' && Array.isArray(firstSkill.technologies), 'the skills');
  check(!Number.isNaN(Date.parse(path?.createdAt ?? '')), 'a DateTime');

  const signedIn: SignInMutation = await execute(SignInDocument, { email: email ?? '', password: password ?? '' });
  const session = signedIn.login;
  check(session.tokenType === 'Bearer' && session.accessToken.split('.').length === 3, 'an access token');
  check(session.user.role === 'VIEWER' && session.user.email === email, 'the signed-in user');
  check(Date.parse(session.accessTokenExpiresAt) > Date.now(), 'an expiry in the future');
  await followPublication();
  console.log('typescript client: the career-path page, sign-in and subscription answers have the generated shape');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
