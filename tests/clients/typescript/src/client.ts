// A small client of the generated, typed documents: what a front end would write. `tsc` checks it
// against the types graphql-codegen generated from schema.graphql; `node dist/client.js` runs it
// against the live server and checks the answers have the generated shape.
import {
  CareerPathPageDocument,
  SignInDocument,
  type CareerPathPageQuery,
  type SignInMutation,
  type TypedDocumentString,
} from './gql/graphql';

declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

const url = process.env.CAREERGRAPH_URL;
const email = process.env.CAREERGRAPH_EMAIL;
const password = process.env.CAREERGRAPH_PASSWORD;

async function execute<Result, Variables>(
  document: TypedDocumentString<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const body = (await response.json()) as { data?: Result; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(`errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`the answer lacks ${what}`);
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
  console.log('typescript client: the career-path page and sign-in answers have the generated shape');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
