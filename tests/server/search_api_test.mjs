// search_api_test.mjs — HTTP tests of `tinyllm serve --db FILE`: POST /api/search (modes, k, path, rerank_model,
// the CLI's results), GET /api/search/info, /api/chat's "documents" (sources in the answer, streamed or not),
// and every error, with node's global fetch only.
//
//   node tests/server/search_api_test.mjs BASE_URL CLI_JSON NODB_URL GONE_URL SWAP_URL
//
// tests/cli/test_serve_search.sh starts the servers:
//   BASE_URL  --db over the corpus below, indexed with bert.gguf (a random-weight all-minilm-l6-v2, served
//             as "bert" without -m), and -m stories260K, -m rerank-tiny (a random-weight reranker)
//   NODB_URL  no --db (only stories260K)
//   GONE_URL  --db of a database whose embedding model file was deleted
//   SWAP_URL  --db of a database whose embedding model file was replaced by other weights
// CLI_JSON is `tinyllm search --json -k 3 QUERY` on BASE_URL's database: the server must give the same results.
// Prints "ok: NAME" / "FAIL: NAME: why" per test; exits 1 if any failed.
import { readFileSync } from 'node:fs';
import { check, equal, request, runTests, test } from './harness.mjs';

const [BASE, CLI_FILE, NODB, GONE, SWAP] = process.argv.slice(2);
if (!SWAP) {
  console.error('usage: node search_api_test.mjs BASE_URL CLI_JSON NODB_URL GONE_URL SWAP_URL');
  process.exit(2);
}
const CLI = JSON.parse(readFileSync(CLI_FILE, 'utf8'));
const QUERY = 'furry cats sleeping'; // keep in sync with test_serve_search.sh


const search = (body, base = BASE) => request('POST', base + '/api/search', body);
const chat = (body, base = BASE) => request('POST', base + '/api/chat', body);

// An error answer (Ollama's shape {"error": "..."}) with `status`, its message matching `pattern`.
async function expectError(promise, status, pattern) {
  const r = await promise;
  equal(r.status, status, `status (body ${r.text.slice(0, 200)})`);
  check(r.json && typeof r.json.error === 'string', `error body: ${r.text.slice(0, 200)}`);
  check(pattern.test(r.json.error), `message "${r.json.error}" does not match ${pattern}`);
}

const ask = (extra = {}) => ({
  model: 'stories260K',
  stream: false,
  messages: [{ role: 'user', content: 'Which animals purr?' }],
  options: { num_predict: 4, temperature: 0 },
  ...extra,
});

// ---- /api/search ----------------------------------------------------------------------------------------------

test('hybrid search (the default) gives the results of tinyllm search --json', async () => {
  const r = await search({ query: QUERY, k: 3 });
  equal(r.status, 200, `status (${r.text.slice(0, 200)})`);
  equal(r.json.mode, 'hybrid', 'mode');
  equal(r.json.query, QUERY, 'query');
  check(r.json.model.endsWith('/bert.gguf'), `model ${r.json.model}`);
  equal(r.json.results.length, CLI.results.length, 'result count');
  r.json.results.forEach((hit, i) => {
    const cli = CLI.results[i];
    equal(hit.rank, i + 1, `rank ${i}`);
    for (const key of ['path', 'first_line', 'last_line', 'text', 'snippet', 'chunk_id']) equal(hit[key], cli[key], `${key} ${i}`);
    check(Math.abs(hit.score - cli.score) < 1e-9, `score ${i}: ${hit.score} vs ${cli.score}`);
  });
});

test('k defaults to 5 and caps the count', async () => {
  const r = await search({ query: 'the' , mode: 'vector' });
  equal(r.status, 200, 'status');
  equal(r.json.results.length, 5, 'default k');
  const two = await search({ query: 'the', mode: 'vector', k: 2 });
  equal(two.json.results.length, 2, 'k 2');
});

test('text mode finds the words; vector mode finds the same text at cosine 1', async () => {
  const t = await search({ query: 'rocket thrust', mode: 'text' });
  equal(t.json.mode, 'text', 'mode');
  equal(t.json.results.length, 1, `text hits ${JSON.stringify(t.json.results.map((h) => h.path))}`);
  check(t.json.results[0].path.endsWith('/rockets.md'), `path ${t.json.results[0].path}`);
  equal(t.json.results[0].first_line, 1, 'first_line');
  const v = await search({ query: 'the ocean is deep and blue', mode: 'vector', k: 1 });
  check(v.json.results[0].path.endsWith('/ocean.txt'), `vector path ${v.json.results[0].path}`);
  check(v.json.results[0].score > 0.9999, `cosine ${v.json.results[0].score}`);
});

test('path keeps only the sources that match the glob', async () => {
  const r = await search({ query: 'anything', mode: 'vector', k: 10, path: '*.md' });
  equal(r.status, 200, 'status');
  check(r.json.results.length >= 1 && r.json.results.every((h) => h.path.endsWith('.md')),
    `paths ${JSON.stringify(r.json.results.map((h) => h.path))}`);
});

test('rerank_model rescores the candidates with the reranker (its /api/rerank scores), best first', async () => {
  const r = await search({ query: QUERY, k: 2, rerank_model: 'rerank-tiny' });
  equal(r.status, 200, `status (${r.text.slice(0, 200)})`);
  equal(r.json.rerank_model, 'rerank-tiny', 'rerank_model');
  equal(r.json.results.length, 2, 'k after reranking');
  check(r.json.results[0].score >= r.json.results[1].score, 'best first');
  const direct = await request('POST', BASE + '/api/rerank',
    { model: 'rerank-tiny', query: QUERY, documents: r.json.results.map((h) => h.text) });
  equal(direct.status, 200, 'rerank status');
  for (const d of direct.json.results)
    check(Math.abs(d.relevance_score - r.json.results[d.index].score) < 1e-5,
      `score of ${d.index}: ${r.json.results[d.index].score} vs /api/rerank ${d.relevance_score}`);
});

test('bad requests are 400s naming the field; an unknown reranker a 404', async () => {
  await expectError(search({}), 400, /field 'query' is required/);
  await expectError(search({ query: '' }), 400, /'query' must not be empty/);
  await expectError(search({ query: 5 }), 400, /'query' must be a string/);
  await expectError(search({ query: 'x', mode: 'fuzzy' }), 400, /'mode' must be "vector", "text" or "hybrid"/);
  await expectError(search({ query: 'x', k: 0 }), 400, /'k'/);
  await expectError(search({ query: 'x', k: 101 }), 400, /'k'/);
  await expectError(search({ query: 'x', k: 'five' }), 400, /'k'/);
  await expectError(search({ query: 'x', path: 3 }), 400, /'path' must be a string/);
  await expectError(search({ query: 'x', rerank_model: 'nope' }), 404, /rerank_model 'nope' not found/);
  await expectError(search({ query: 'x', rerank_model: 'stories260K' }), 400, /'stories260K' is not a reranker/);
  await expectError(search('{"query": '), 400, /JSON/);
  await expectError(search('[1]'), 400, /object/);
  await expectError(request('GET', BASE + '/api/search'), 405, /use POST/);
});

test('GET /api/search/info describes the database', async () => {
  const r = await request('GET', BASE + '/api/search/info');
  equal(r.status, 200, 'status');
  check(r.json.db.endsWith('/index.db'), `db ${r.json.db}`);
  check(r.json.model.endsWith('/bert.gguf'), `model ${r.json.model}`);
  equal(r.json.served_as, 'bert', 'served_as');
  equal(r.json.sources, 6, 'sources');
  equal(r.json.chunks, 6, 'chunks');
  equal(r.json.vectors, 'float32', 'vectors');
});

test('the database\'s embedding model is served without -m', async () => {
  const r = await request('GET', BASE + '/api/tags');
  check(r.json.models.some((m) => m.name === 'bert:latest'), `tags ${JSON.stringify(r.json.models.map((m) => m.name))}`);
});

// ---- /api/chat with documents ---------------------------------------------------------------------------------

test('chat with "documents": the sources come back numbered and reach the prompt', async () => {
  const plain = await chat(ask());
  equal(plain.status, 200, `plain status (${plain.text.slice(0, 200)})`);
  check(!('sources' in plain.json), 'no sources without documents');
  const r = await chat(ask({ documents: { k: 3 } }));
  equal(r.status, 200, `status (${r.text.slice(0, 200)})`);
  equal(r.json.sources.length, 3, 'sources');
  r.json.sources.forEach((s, i) => {
    equal(s.n, i + 1, 'n');
    check(typeof s.path === 'string' && s.text.length > 0 && s.first_line >= 1 && s.last_line >= s.first_line,
      `source ${JSON.stringify(s)}`);
  });
  check(r.json.prompt_eval_count > plain.json.prompt_eval_count + 20,
    `prompt tokens ${r.json.prompt_eval_count} vs ${plain.json.prompt_eval_count} without documents`);
  const one = await chat(ask({ documents: true }));
  equal(one.json.sources.length, 4, 'documents: true takes 4');
  const found = await search({ query: 'Which animals purr?', k: 3 });
  equal(JSON.stringify(r.json.sources.map((s) => s.path)), JSON.stringify(found.json.results.map((h) => h.path)),
    'the sources are the search results for the last user message');
});

test('a streamed chat with documents has the sources in its final line', async () => {
  const r = await chat(ask({ stream: true, documents: { k: 2, mode: 'text' } }));
  equal(r.status, 200, 'status');
  const lines = r.text.trim().split('\n').map((l) => JSON.parse(l));
  const last = lines[lines.length - 1];
  equal(last.done, true, 'last line done');
  equal(last.sources.length, 1, `sources of a text search for "purr" (${JSON.stringify(last.sources)})`);
  check(last.sources[0].path.endsWith('/cats.txt'), `path ${last.sources[0].path}`);
  check(lines.slice(0, -1).every((l) => !('sources' in l)), 'only the final line has sources');
});

test('bad "documents" are 400s', async () => {
  await expectError(chat(ask({ documents: 'yes' })), 400, /'documents' must be true or an object/);
  await expectError(chat(ask({ documents: { k: 0 } })), 400, /documents\.k/);
  await expectError(chat(ask({ documents: { mode: 'nope' } })), 400, /documents\.mode/);
  await expectError(chat(ask({ documents: true, messages: [{ role: 'system', content: 'hi' }] })), 400,
    /needs a user message/);
});

// ---- other servers --------------------------------------------------------------------------------------------

test('without --db: /api/search and documents are 404s saying so; /api/search/info says db null', async () => {
  await expectError(search({ query: 'x' }, NODB), 404, /no search database: start it with --db FILE/);
  const info = await request('GET', NODB + '/api/search/info');
  equal(info.status, 200, 'info status');
  equal(info.json.db, null, 'info db');
  await expectError(chat(ask({ documents: true }), NODB), 404, /--db FILE/);
  const plain = await chat(ask(), NODB);
  equal(plain.status, 200, 'chat without documents still works');
});

test('a database whose embedding model is gone: vector search says so, text search works', async () => {
  await expectError(search({ query: 'cats' }, GONE), 400, /embedding model .*gone\.gguf is not served: start the server with -m/);
  const t = await search({ query: 'cats', mode: 'text' }, GONE);
  equal(t.status, 200, 'text mode');
  equal(t.json.results.length, 1, 'text hits');
});

test('a model file with other weights than the database\'s is refused', async () => {
  await expectError(search({ query: 'cats' }, SWAP), 400, /'swap' is not the embedding model .* was indexed with/);
});

await runTests();
