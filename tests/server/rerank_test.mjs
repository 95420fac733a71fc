// rerank_test.mjs — HTTP tests of POST /v1/rerank and its aliases (/v1/reranking, /rerank, /reranking,
// /api/rerank) of `tinyllm serve`, and every error, with node's global fetch only.
//
//   node tests/server/rerank_test.mjs BASE_URL CLI_JSON
//
// The server must offer (tests/cli/test_rerank.sh starts it):
//   rerank-tiny  a random-weight ms-marco-minilm-l6-v2 (a reranker), context 512
//   bert-tiny    a random-weight all-minilm-l6-v2 (an embedding model, not a reranker)
//   stories260K  the shared llama model (a text generator, not a reranker)
// CLI_JSON is `tinyllm rerank --json` on the same model for QUERY and DOCS below: the server must give the same
// scores. Prints "ok: NAME" / "FAIL: NAME: why" per test; exits 1 if any failed.
import { readFileSync } from 'node:fs';
import { Failure, check, equal, request as send, runTests, test } from './harness.mjs';

const BASE = process.argv[2];
const CLI = process.argv[3] && JSON.parse(readFileSync(process.argv[3], 'utf8'));
if (!BASE || !CLI) {
  console.error('usage: node rerank_test.mjs BASE_URL CLI_JSON');
  process.exit(2);
}
const RERANKER = 'rerank-tiny';
const QUERY = 'How many people live in Berlin?';
const DOCS = [
  'Berlin has a population of 3,520,031 registered inhabitants.',
  'New York City is famous for the Metropolitan Museum of Art.',
  'hi',
];
const ALIASES = ['/v1/rerank', '/v1/reranking', '/rerank', '/reranking', '/api/rerank'];

// A request to the server under test; an answer that is not JSON fails the test.
async function request(method, path, body) {
  const r = await send(method, BASE + path, body);
  if (r.json === null) throw new Failure(`${method} ${path}: not JSON (status ${r.status}): ${r.text.slice(0, 200)}`);
  return r;
}
const post = (path, body) => request('POST', path, body);
const rerank = (extra = {}) => ({ model: RERANKER, query: QUERY, documents: DOCS, ...extra });

// An error answer in OpenAI's shape with `status`, its message matching `pattern` (and its param, if given).
async function expectError(body, status, pattern, param, path = '/v1/rerank') {
  const r = await post(path, body);
  equal(r.status, status, `status of ${typeof body === 'string' ? body : JSON.stringify(body).slice(0, 200)}`);
  const e = r.json.error;
  check(e && typeof e.message === 'string', `no error message in ${JSON.stringify(r.json)}`);
  check(pattern.test(e.message), `error '${e.message}' does not match ${pattern}`);
  check(typeof e.type === 'string' && 'param' in e && 'code' in e, `not OpenAI's error shape: ${JSON.stringify(r.json)}`);
  if (param !== undefined) equal(e.param, param, `param of '${e.message}'`);
}

// ---- answers ---------------------------------------------------------------------------

test('POST /v1/rerank: every document once, best first, usage, the CLI\'s scores', async () => {
  const r = await post('/v1/rerank', rerank());
  equal(r.status, 200, `status (${JSON.stringify(r.json)})`);
  equal(r.json.model, RERANKER, 'model');
  equal(r.json.object, 'list', 'object');
  check(r.json.usage.prompt_tokens > 10 && r.json.usage.total_tokens === r.json.usage.prompt_tokens, 'usage');
  const results = r.json.results;
  equal(results.length, DOCS.length, 'number of results');
  equal([...results.map((x) => x.index)].sort().join(), '0,1,2', 'indices');
  for (let i = 1; i < results.length; i++)
    check(results[i - 1].relevance_score >= results[i].relevance_score, `not sorted: ${JSON.stringify(results)}`);
  check(results.every((x) => !('document' in x)), 'documents returned without return_documents');
  equal(r.json.usage.prompt_tokens, CLI.usage.prompt_tokens, 'tokens as the CLI counts them');
  for (const want of CLI.results) {
    const got = results.find((x) => x.index === want.index);
    check(Math.abs(got.relevance_score - want.relevance_score) < 1e-6,
      `document ${want.index}: ${got.relevance_score}, the CLI ${want.relevance_score}`);
  }
});

test('every alias answers the same', async () => {
  const first = await post(ALIASES[0], rerank());
  for (const path of ALIASES.slice(1)) {
    const r = await post(path, rerank());
    equal(r.status, 200, `status of ${path}`);
    equal(JSON.stringify(r.json.results), JSON.stringify(first.json.results), `results of ${path}`);
  }
});

test('top_n, return_documents and {text} documents (Jina)', async () => {
  const all = await post('/v1/rerank', rerank());
  const r = await post('/v1/rerank', rerank({ documents: DOCS.map((text) => ({ text })), top_n: 2, return_documents: true }));
  equal(r.status, 200, `status (${JSON.stringify(r.json)})`);
  equal(r.json.results.length, 2, 'top_n results');
  for (let i = 0; i < 2; i++) {
    equal(r.json.results[i].index, all.json.results[i].index, `index of result ${i}`);
    equal(r.json.results[i].document.text, DOCS[r.json.results[i].index], `document of result ${i}`);
  }
  const many = await post('/v1/rerank', rerank({ top_n: 100 }));
  equal(many.json.results.length, DOCS.length, 'top_n above the number of documents');
  const mixed = await post('/api/rerank', rerank({ documents: [DOCS[0], { text: DOCS[1] }] }));
  equal(mixed.status, 200, 'strings and objects mixed');
});

test('"texts" gives TEI\'s bare list with score (and text with return_text)', async () => {
  const jina = await post('/rerank', rerank());
  const r = await post('/rerank', { model: RERANKER, query: QUERY, texts: DOCS, return_text: true });
  equal(r.status, 200, `status (${JSON.stringify(r.json)})`);
  check(Array.isArray(r.json), 'a bare list');
  for (let i = 0; i < DOCS.length; i++) {
    equal(r.json[i].index, jina.json.results[i].index, `index ${i}`);
    equal(r.json[i].score, jina.json.results[i].relevance_score, `score ${i}`);
    equal(r.json[i].text, DOCS[r.json[i].index], `text ${i}`);
  }
});

test('a document as long as the context allows is scored', async () => {
  // [CLS] query (7 tokens) [SEP] + 503 words of one token each = 512 tokens, the whole context.
  const r = await post('/v1/rerank', rerank({ documents: [Array(503).fill('the').join(' ')] }));
  equal(r.status, 200, `status (${JSON.stringify(r.json).slice(0, 300)})`);
  equal(r.json.usage.prompt_tokens, 512, 'tokens');
});

// ---- errors ----------------------------------------------------------------------------

test('missing or mistyped fields are 400s naming the field', async () => {
  await expectError({ model: RERANKER, documents: DOCS }, 400, /field 'query' is required/, 'query');
  await expectError(rerank({ query: 7 }), 400, /field 'query' must be a string/, 'query');
  await expectError({ model: RERANKER, query: QUERY }, 400, /field 'documents' is required/, 'documents');
  await expectError(rerank({ documents: 'one' }), 400, /'documents' must be a list/, 'documents');
  await expectError(rerank({ documents: [] }), 400, /'documents' must not be an empty list/, 'documents');
  await expectError(rerank({ documents: ['a', 3] }), 400, /documents\[1\] must be a string or an object/, 'documents');
  await expectError(rerank({ documents: ['a', { txt: 'b' }] }), 400, /documents\[1\]/, 'documents');
  await expectError(rerank({ top_n: 0 }), 400, /top_n/, 'top_n');
  await expectError(rerank({ top_n: 'two' }), 400, /top_n/, 'top_n');
  await expectError(rerank({ return_documents: 'yes' }), 400, /return_documents/, 'return_documents');
  await expectError({ query: QUERY, documents: DOCS }, 400, /field 'model' is required/, 'model');
});

test('too many documents, and a pair longer than the context, are 400s', async () => {
  await expectError(rerank({ documents: Array(1001).fill('x') }), 400, /1001 documents, more than the limit of 1000/,
    'documents');
  await expectError(rerank({ documents: ['short', Array(600).fill('the').join(' ')] }), 400,
    /document 1: the query and the document are more than 512 tokens/, 'documents');
});

test('a model that is not a reranker is a 400; an unknown one a 404', async () => {
  await expectError(rerank({ model: 'bert-tiny' }), 400, /'bert-tiny' is not a reranker/, 'model');
  await expectError(rerank({ model: 'stories260K' }), 400, /'stories260K' is not a reranker/, 'model', '/api/rerank');
  await expectError(rerank({ model: 'nope' }), 404, /not found/, 'model');
});

test('a body that is not a JSON object is a 400; GET is a 405', async () => {
  await expectError('{"query": ', 400, /JSON/);
  await expectError('[1, 2]', 400, /object/);
  const r = await request('GET', '/v1/rerank');
  equal(r.status, 405, 'GET /v1/rerank');
  check(/use POST/.test(r.json.error.message), `message ${r.json.error.message}`);
});

await runTests();
