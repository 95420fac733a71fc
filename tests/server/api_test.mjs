// api_test.mjs — HTTP tests of every endpoint of `tinyllm serve` and its
// errors, with node's global fetch only (no npm packages).
//
//   node tests/server/api_test.mjs BASE_URL [busy | lru]
//
// With "busy", only the test of a full queue runs (on a server started with
// --parallel 1 --queue 1); with "lru" only those of unloading under
// --max-loaded 1 (a server of the same --models directory).
// The server must offer (see tests/cli/test_server.sh, which starts it):
//   stories260K  the shared llama model, with a small context (-c 128)
//   smol-tiny    a random-weight smollm2-135m (real vocabulary and template)
//   story-sys    a copy of stories260K with story-sys.json: a system prompt
//                and options {"num_predict": 3}
//   bert-tiny    a random-weight all-minilm-l6-v2 (an embedding model)
//   story-tpl    a copy of stories260K whose story-tpl.json names a template
//                file (story-tpl.jinja) that can render tools
// Prints "ok: NAME" / "FAIL: NAME: why" per test; exits 1 if any failed.

const BASE = process.argv[2];
if (!BASE) {
  console.error('usage: node api_test.mjs BASE_URL');
  process.exit(2);
}
const STORIES = 'stories260K';
const SMOL = 'smol-tiny';
const SYS = 'story-sys';
const BERT = 'bert-tiny';

// ---- helpers ----------------------------------------------------------------

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

class Failure extends Error {}
function check(cond, message) {
  if (!cond) throw new Failure(message);
}
function equal(actual, expected, what) {
  check(actual === expected, `${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

// A request; body objects are sent as JSON, strings as they are.
async function call(method, path, body, extra = {}) {
  const init = { method, headers: {}, ...extra };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  return fetch(BASE + path, init);
}

// A JSON answer: {status, json, headers}.
async function json(method, path, body) {
  const res = await call(method, path, body);
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Failure(`${method} ${path}: not JSON (status ${res.status}): ${text.slice(0, 200)}`);
  }
  return { status: res.status, json: parsed, headers: res.headers };
}

const post = (path, body) => json('POST', path, body);
const get = (path) => json('GET', path);

// Expects an error answer with `status` whose message matches `pattern`.
async function expectError(path, body, status, pattern, style) {
  const r = await post(path, body);
  equal(r.status, status, `status of ${path} ${typeof body === 'string' ? body : JSON.stringify(body)}`);
  const message = style === 'ollama' ? r.json.error : r.json.error?.message;
  check(typeof message === 'string', `no error message in ${JSON.stringify(r.json)}`);
  check(pattern.test(message), `error '${message}' does not match ${pattern}`);
  if (style === 'openai') {
    check(typeof r.json.error.type === 'string', `no error type in ${JSON.stringify(r.json)}`);
    check('param' in r.json.error && 'code' in r.json.error, `no param/code in ${JSON.stringify(r.json)}`);
  }
  return r;
}

// Reads a streamed body as SSE events (the data of each) or NDJSON objects.
async function readStream(res, onItem) {
  const decoder = new TextDecoder();
  let buffer = '';
  const items = [];
  const separator = res.headers.get('content-type')?.startsWith('text/event-stream') ? '\n\n' : '\n';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let at;
    while ((at = buffer.indexOf(separator)) >= 0) {
      const piece = buffer.slice(0, at);
      buffer = buffer.slice(at + separator.length);
      if (!piece.trim()) continue;
      let item;
      if (separator === '\n\n') {
        check(piece.startsWith('data: '), `SSE event without "data: ": ${piece}`);
        const data = piece.slice(6);
        item = data === '[DONE]' ? '[DONE]' : JSON.parse(data);
      } else {
        item = JSON.parse(piece);
      }
      items.push(item);
      if (onItem && onItem(item) === false) return items;
    }
  }
  check(!buffer.trim(), `stream ended with an incomplete item: ${buffer}`);
  return items;
}

async function stream(path, body) {
  const res = await call('POST', path, body);
  equal(res.status, 200, `status of streamed ${path}`);
  return { res, items: await readStream(res) };
}

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Deadlines are stretched by TL_TIME_SCALE (e.g. 20 with the server under valgrind).
const SCALE = Number(process.env.TL_TIME_SCALE) || 1;

// Waits for a state: polls `condition` until it holds, failing after a generous `ms` (times SCALE).
async function until(condition, ms, what) {
  const start = Date.now();
  while (!(await condition())) {
    check(Date.now() - start < ms * SCALE, `${what}: not seen within ${(ms * SCALE) / 1000} s`);
    await sleep(50);
  }
}

// Generations in flight for a model (slots active + queued), from /metrics.
async function inFlight(model) {
  const text = await (await call('GET', '/metrics')).text();
  return [...text.matchAll(/^tinyllm_(slots_active|queue_depth)\{model="([^"]*)"\} (\d+)$/gm)]
    .filter((m) => model === undefined || m[2] === model).reduce((s, m) => s + Number(m[3]), 0);
}
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

const chatBody = (extra = {}) => ({
  model: STORIES,
  messages: [{ role: 'user', content: 'Once upon a time' }],
  max_tokens: 12,
  seed: 42,
  temperature: 0.8,
  ...extra,
});

// ---- simple endpoints -------------------------------------------------------

test('GET /health', async () => {
  const r = await get('/health');
  equal(r.status, 200, 'status');
  equal(r.json.status, 'ok', 'status field');
});

test('GET /api/version', async () => {
  const r = await get('/api/version');
  equal(r.status, 200, 'status');
  check(/^\d+\.\d+\.\d+/.test(r.json.version), `version ${r.json.version}`);
});

test('GET /v1/models lists every model', async () => {
  const r = await get('/v1/models');
  equal(r.json.object, 'list', 'object');
  const ids = r.json.data.map((m) => m.id);
  for (const name of [STORIES, SMOL, SYS, BERT]) check(ids.includes(name), `${name} missing from ${ids}`);
  const m = r.json.data.find((x) => x.id === STORIES);
  equal(m.object, 'model', 'object of a model');
  check(Number.isInteger(m.created), 'created');
});

test('GET /api/tags: names with :latest and details', async () => {
  const r = await get('/api/tags');
  const m = r.json.models.find((x) => x.name === `${STORIES}:latest`);
  check(m, `no ${STORIES}:latest in ${JSON.stringify(r.json.models.map((x) => x.name))}`);
  equal(m.model, `${STORIES}:latest`, 'model');
  check(m.size > 0, 'size');
  check(/^[0-9a-f]{64}$/.test(m.digest), `digest ${m.digest}`);
  check(RFC3339.test(m.modified_at), `modified_at ${m.modified_at}`);
  equal(m.details.format, 'gguf', 'format');
  equal(m.details.family, 'llama', 'family');
  check(Array.isArray(m.details.families), 'families');
  check(/^\d+(\.\d)?[KMBT]$/.test(m.details.parameter_size), `parameter_size ${m.details.parameter_size}`);
  check(/^[A-Z0-9_]+$/.test(m.details.quantization_level), `quantization_level ${m.details.quantization_level}`);
  const smol = r.json.models.find((x) => x.name === `${SMOL}:latest`);
  equal(smol.details.quantization_level, 'Q8_0', 'quantization of smol-tiny');
});

test('POST /api/show', async () => {
  const r = await post('/api/show', { model: STORIES });
  equal(r.status, 200, 'status');
  check(typeof r.json.template === 'string' && r.json.template.length > 0, 'template');
  check(typeof r.json.modelfile === 'string' && r.json.modelfile.includes('FROM'), 'modelfile');
  equal(typeof r.json.parameters, 'string', 'parameters');
  equal(r.json.details.family, 'llama', 'details.family');
  equal(r.json.details.format, 'gguf', 'details.format');
  check(/^\d+(\.\d)?[KMBT]$/.test(r.json.details.parameter_size), `parameter_size ${r.json.details.parameter_size}`);
  check(/^[A-Z0-9_]+$/.test(r.json.details.quantization_level), `quantization ${r.json.details.quantization_level}`);
  check(RFC3339.test(r.json.modified_at), `modified_at ${r.json.modified_at}`);
  const info = r.json.model_info;
  equal(info['general.architecture'], 'llama', 'general.architecture');
  check(info['general.parameter_count'] > 100000, `general.parameter_count ${info['general.parameter_count']}`);
  // The hyper-parameters, read from the file's metadata (not 0 as from a vocabulary-only load).
  for (const key of ['context_length', 'embedding_length', 'block_count', 'attention.head_count',
    'attention.head_count_kv', 'feed_forward_length']) {
    const v = info[`llama.${key}`];
    check(Number.isInteger(v) && v > 0, `llama.${key} = ${v}`);
  }
  equal(info['llama.embedding_length'], 64, 'llama.embedding_length of stories260K');
  equal(info['llama.block_count'], 5, 'llama.block_count of stories260K');
  check(typeof info['llama.rope.freq_base'] === 'number' || !('llama.rope.freq_base' in info), 'rope.freq_base');
  equal(info['tokenizer.ggml.model'], 'llama', 'tokenizer.ggml.model');
  check(Array.isArray(info['tokenizer.ggml.tokens']) && info['tokenizer.ggml.tokens'].length === 0,
    'long arrays are [] unless verbose');
  const verbose = await post('/api/show', { model: STORIES, verbose: true });
  equal(verbose.json.model_info['tokenizer.ggml.tokens'].length, 512, 'verbose: the whole vocabulary');
  equal(verbose.json.model_info['tokenizer.ggml.tokens'][1], '<s>', 'verbose: token 1');
  equal(JSON.stringify(r.json.capabilities), '["completion"]', 'capabilities of a decoder');
  const smol = await post('/api/show', { model: SMOL });
  equal(smol.json.capabilities[0], 'completion', 'smol capabilities');
  equal(smol.json.capabilities.includes('tools'), smol.json.template.includes('tools'), 'tools iff the template has them');
  const tpl = await post('/api/show', { model: 'story-tpl' });
  check(tpl.json.template.startsWith('{% if tools %}'), `template from the file NAME.json names: ${tpl.json.template}`);
  equal(JSON.stringify(tpl.json.capabilities), '["completion","tools"]', 'capabilities with a tools template');
  const bert = await post('/api/show', { name: `${BERT}:latest` });
  equal(bert.status, 200, 'status with "name"');
  equal(JSON.stringify(bert.json.capabilities), '["embedding"]', 'bert capabilities');
  equal(bert.json.details.family, 'bert', 'bert family');
  check(bert.json.model_info['bert.embedding_length'] > 0, 'bert.embedding_length');
  const sys = await post('/api/show', { model: SYS });
  check(/num_predict\s+3/.test(sys.json.parameters), `parameters of story-sys: ${sys.json.parameters}`);
  check(/temperature\s+0.5/.test(sys.json.parameters), `parameters of story-sys: ${sys.json.parameters}`);
  check(typeof sys.json.system === 'string' && sys.json.system.length > 0, 'system of story-sys');
  await expectError('/api/show', { model: 'nope' }, 404, /model 'nope' not found/, 'ollama');
});

test('GET /props: the defaults a request gets, per model with ?model=', async () => {
  const r = await get('/props');
  equal(r.status, 200, 'status');
  const p = r.json.default_generation_settings.params;
  // llama.cpp's defaults (api_sampling_init), as a request that omits them gets.
  equal(p.temperature, 0.8, 'temperature');
  equal(p.top_k, 40, 'top_k');
  check(Math.abs(p.top_p - 0.95) < 1e-6, `top_p ${p.top_p}`);
  check(Math.abs(p.min_p - 0.05) < 1e-6, `min_p ${p.min_p}`);
  equal(p.repeat_penalty, 1, 'repeat_penalty');
  equal(p.repeat_last_n, 64, 'repeat_last_n');
  equal(p.n_predict, -1, 'n_predict');
  equal(p.seed, 4294967295, 'seed');
  equal(r.json.total_slots, 2, 'total_slots (--parallel 2)');
  for (const k of ['model_path', 'chat_template']) equal(typeof r.json[k], 'string', k);
  const sys = await get(`/props?model=${SYS}`);
  equal(sys.json.default_generation_settings.params.n_predict, 3, 'NAME.json num_predict');
  equal(sys.json.default_generation_settings.params.temperature, 0.5, 'NAME.json temperature');
  equal(sys.json.default_generation_settings.params.top_k, 40, 'other defaults stay');
  check(sys.json.model_path.endsWith(`${SYS}.gguf`), `model_path ${sys.json.model_path}`);
  const s = await get(`/props?model=${STORIES}`);
  equal(s.json.default_generation_settings.n_ctx, 128, 'n_ctx (-c 128)');
  check(s.json.chat_template.length > 0, 'chat_template');
  const missing = await get('/props?model=nope');
  equal(missing.status, 404, 'unknown model');
});

// ---- errors -------------------------------------------------------------------

test('invalid JSON is a 400 in both shapes', async () => {
  await expectError('/v1/chat/completions', '{"model": ', 400, /JSON/, 'openai');
  await expectError('/api/chat', '{nope}', 400, /JSON/, 'ollama');
  await expectError('/v1/completions', '[1, 2]', 400, /JSON object/, 'openai');
  await expectError('/api/generate', '', 400, /empty|JSON/, 'ollama');
});

test('a field of the wrong type is a 400 naming the field', async () => {
  const r = await expectError('/v1/chat/completions', chatBody({ temperature: 'hot' }), 400,
    /field 'temperature' must be a number/, 'openai');
  equal(r.json.error.param, 'temperature', 'param');
  equal(r.json.error.type, 'invalid_request_error', 'type');
  await expectError('/v1/chat/completions', chatBody({ max_tokens: 'ten' }), 400, /max_tokens/, 'openai');
  await expectError('/v1/chat/completions', chatBody({ stream: 'yes' }), 400, /stream/, 'openai');
  await expectError('/v1/chat/completions', chatBody({ stop: 5 }), 400, /stop/, 'openai');
  await expectError('/v1/chat/completions', chatBody({ messages: 'hi' }), 400, /messages/, 'openai');
  await expectError('/v1/chat/completions', chatBody({ messages: [{ role: 'robot', content: 'x' }] }), 400,
    /role/, 'openai');
  await expectError('/v1/chat/completions', { messages: [] }, 400, /field 'model' is required/, 'openai');
  await expectError('/v1/completions', { model: STORIES }, 400, /prompt/, 'openai');
  await expectError('/api/generate', { model: STORIES, prompt: 'x', options: { temperature: 'hot' } }, 400,
    /temperature/, 'ollama');
  await expectError('/api/generate', { model: STORIES, prompt: 'x', options: { top_k: 1.5 } }, 400, /top_k/,
    'ollama');
  await expectError('/api/chat', { model: STORIES, messages: {} }, 400, /messages/, 'ollama');
  await expectError('/api/generate', { model: STORIES, prompt: 7 }, 400, /prompt/, 'ollama');
  await expectError('/api/generate', { model: STORIES, prompt: 'x', keep_alive: 'soon' }, 400, /keep_alive/,
    'ollama');
  await expectError('/api/generate', { model: STORIES, prompt: 'x', format: 'xml' }, 400, /format/, 'ollama');
  await expectError('/v1/chat/completions', chatBody({ logit_bias: { abc: 1 } }), 400, /logit_bias/, 'openai');
  await expectError('/v1/chat/completions', chatBody({ logit_bias: { 5: 'x' } }), 400, /logit_bias/, 'openai');
});

test('an unknown model is a 404', async () => {
  const r = await expectError('/v1/chat/completions', chatBody({ model: 'nope' }), 404, /model 'nope' not found/,
    'openai');
  equal(r.json.error.type, 'not_found_error', 'type');
  await expectError('/api/chat', { model: 'nope', messages: [] }, 404, /not found/, 'ollama');
  await expectError('/api/generate', { model: 'nope:latest', prompt: 'x' }, 404, /not found/, 'ollama');
  await expectError('/v1/embeddings', { model: 'nope', input: 'x' }, 404, /not found/, 'openai');
  await expectError('/api/embed', { model: 'nope', input: 'x' }, 404, /not found/, 'ollama');
  await expectError('/tokenize', { model: 'nope', content: 'x' }, 404, /not found/, 'openai');
});

test('n other than 1 is a 400', async () => {
  await expectError('/v1/chat/completions', chatBody({ n: 2 }), 400, /'n' must be 1/, 'openai');
});

test('a prompt longer than the context is a 400', async () => {
  const long = 'Once upon a time there was a little girl. '.repeat(60);
  await expectError('/v1/chat/completions', chatBody({ messages: [{ role: 'user', content: long }] }), 400,
    /the prompt has \d+ tokens, more than the context of \d+/, 'openai');
  await expectError('/v1/completions', { model: STORIES, prompt: long, stream: true }, 400,
    /more than the context/, 'openai');
  // Ollama's endpoints cut such a prompt (next test) unless num_keep is -1.
  await expectError('/api/generate', { model: STORIES, prompt: long, options: { num_keep: -1 } }, 400,
    /more than the context/, 'ollama');
});

test('a prompt of megabytes is refused without being tokenized whole', async () => {
  // 6 MB: far more tokens than the 16 contexts (at least 65,536 tokens) that the
  // server tokenizes before it refuses a prompt unread; num_keep cannot save it.
  const huge = 'Once upon a time there was a little girl. '.repeat(150000);
  await expectError('/api/generate', { model: STORIES, prompt: huge, stream: false }, 400,
    /the prompt is too long: more than 65536 tokens/, 'ollama');
  await expectError('/v1/completions', { model: STORIES, prompt: huge }, 400,
    /the prompt is too long: more than 65536 tokens/, 'openai');
  await expectError('/api/chat', { model: STORIES, messages: [{ role: 'user', content: huge }], stream: false }, 400,
    /the prompt is too long/, 'ollama');
});

// ---- Ollama options: num_ctx, num_keep, sampling, ignored and refused ones -------

const LONG = 'Once upon a time there was a little girl. '.repeat(60); // ~600 tokens; the server runs -c 128
const gen = (prompt, options, extra = {}) =>
  post('/api/generate', { model: STORIES, prompt, raw: true, stream: false, options, ...extra });

async function contextOf(name) {
  const m = (await get('/api/ps')).json.models.find((x) => x.name === `${name}:latest`);
  return m?.context_length;
}

test('num_ctx: a prompt that fits only a bigger context runs with it; /api/ps shows the size', async () => {
  const whole = await post('/tokenize', { model: STORIES, content: LONG, add_special: true });
  const n = whole.json.tokens.length;
  check(n > 300 && n < 1000, `prompt of ${n} tokens`);
  await expectError('/api/generate', { model: STORIES, prompt: LONG, raw: true, options: { num_keep: -1 } }, 400,
    /more than the context of 128/, 'ollama');
  const big = await gen(LONG, { num_ctx: 1024, num_keep: -1, num_predict: 3 });
  equal(big.status, 200, `status with num_ctx 1024 (${JSON.stringify(big.json)})`);
  equal(big.json.prompt_eval_count, n, 'the whole prompt is read');
  equal(await contextOf(STORIES), 1024, 'context_length in /api/ps');
  const small = await gen('Once', { num_predict: 2 });
  equal(small.status, 200, 'a request without num_ctx');
  equal(await contextOf(STORIES), 128, 'reloaded with the default size (-c 128)');
  const loaded = await post('/api/generate', { model: STORIES, options: { num_ctx: 256 } });
  equal(loaded.json.done_reason, 'load', 'an empty prompt loads with the options');
  equal(await contextOf(STORIES), 256, 'loaded with num_ctx 256');
  await expectError('/api/generate', { model: STORIES, prompt: 'x', options: { num_ctx: 4096 } }, 400,
    /options\.num_ctx.*2048/, 'ollama');
  await expectError('/api/generate', { model: STORIES, prompt: 'x', options: { num_ctx: -1 } }, 400, /num_ctx/,
    'ollama');
  await expectError('/api/chat', { model: STORIES, messages: [{ role: 'user', content: 'x' }], options: { num_ctx: 'big' } },
    400, /options\.num_ctx/, 'ollama');
  equal((await gen('Once', { num_predict: 1 })).status, 200, 'back to the default');
});

test('num_keep: an over-long prompt is cut to leave room for the reply, keeping num_keep tokens', async () => {
  const cut = await gen(LONG, { num_predict: 4, temperature: 0 });
  equal(cut.status, 200, `status (${JSON.stringify(cut.json)})`);
  equal(cut.json.prompt_eval_count, 124, 'cut to the context (128) less num_predict (4)');
  equal(cut.json.eval_count, 4, 'the reply fits');
  const half = await gen(LONG, { temperature: 0, num_predict: 200 });
  equal(half.json.prompt_eval_count, 64, 'cut to half the context when num_predict is large');
  const kept = await gen(LONG, { num_predict: 4, temperature: 0, num_keep: 123 });
  equal(kept.json.prompt_eval_count, 124, 'num_keep 123');
  await expectError('/api/generate', { model: STORIES, prompt: LONG, raw: true, options: { num_predict: 4, num_keep: 124 } },
    400, /options\.num_keep/, 'ollama');
  await expectError('/api/generate', { model: STORIES, prompt: 'x', options: { num_keep: -2 } }, 400,
    /options\.num_keep/, 'ollama');
  const chat = await post('/api/chat', { model: STORIES, stream: false, messages: [{ role: 'user', content: LONG }],
    options: { num_predict: 4 } });
  equal(chat.json.prompt_eval_count, 124, 'a chat prompt is cut too');
});

test('mirostat and typical_p change the output, reproducibly with a seed', async () => {
  const prompt = 'Once upon a time';
  const hot = { temperature: 1.5, top_k: 0, top_p: 1, min_p: 0, num_predict: 24 };
  const text = async (options) => {
    const r = await gen(prompt, options);
    equal(r.status, 200, `status with ${JSON.stringify(options)} (${JSON.stringify(r.json)})`);
    return r.json.response;
  };
  const greedy = await text({ temperature: 0, num_predict: 24 });
  const plain1 = await text({ ...hot, seed: 1 }), plain2 = await text({ ...hot, seed: 2 });
  check(plain1 !== plain2 && plain1 !== greedy, 'plain sampling at 1.5 depends on the seed');
  // A tiny target surprise keeps only the likeliest token: Mirostat 1 and 2 become greedy.
  for (const mirostat of [1, 2]) {
    const low = await text({ ...hot, seed: 1, mirostat, mirostat_tau: 0.1, mirostat_eta: 0.1 });
    equal(low, greedy, `mirostat ${mirostat} with tau 0.1`);
    const a = await text({ ...hot, seed: 3, mirostat, mirostat_tau: 8 });
    equal(await text({ ...hot, seed: 3, mirostat, mirostat_tau: 8 }), a, `mirostat ${mirostat}: same seed, same text`);
  }
  // A tiny typical_p keeps one token a step whatever the seed.
  const typical1 = await text({ ...hot, seed: 1, typical_p: 0.01 });
  equal(await text({ ...hot, seed: 2, typical_p: 0.01 }), typical1, 'typical_p 0.01 does not depend on the seed');
  check(typical1 !== plain1, 'typical_p changes the text');
  const mid = await text({ ...hot, seed: 4, typical_p: 0.8 });
  equal(await text({ ...hot, seed: 4, typical_p: 0.8 }), mid, 'typical_p 0.8: same seed, same text');
  // llama-server's fields on the OpenAI endpoints.
  const oai = await post('/v1/completions', { model: STORIES, prompt, max_tokens: 24, temperature: 1.5, top_k: 0,
    top_p: 1, min_p: 0, seed: 1, mirostat: 2, mirostat_tau: 0.1 });
  equal(oai.status, 200, `status (${JSON.stringify(oai.json)})`);
  const oaiGreedy = await post('/v1/completions', { model: STORIES, prompt, max_tokens: 24, temperature: 0 });
  equal(oai.json.choices[0].text, oaiGreedy.json.choices[0].text, 'OpenAI mirostat 2 with tau 0.1 is greedy');
  const typ = await post('/v1/completions', { model: STORIES, prompt, max_tokens: 8, typical_p: 0.5, seed: 1 });
  equal(typ.status, 200, 'OpenAI typical_p');
  for (const [field, value] of [['typical_p', 2], ['mirostat', 3], ['mirostat_tau', -1], ['mirostat_eta', 'x'],
    ['repeat_last_n', -2]]) {
    const r = await expectError('/v1/completions', { model: STORIES, prompt, [field]: value }, 400,
      new RegExp(field), 'openai');
    equal(r.json.error.param, field, `param of a bad ${field}`);
  }
});

test('options without effect are accepted (and logged); bad values and tfs_z other than 1 are 400s', async () => {
  const ignored = { num_batch: 8, num_thread: 2, num_gpu: 0, main_gpu: 0, low_vram: false, numa: false,
    use_mmap: true, use_mlock: false, vocab_only: false, penalize_newline: true, tfs_z: 1, f16_kv: true,
    not_an_option: 'x' };
  const base = await gen('Once', { temperature: 0, num_predict: 8 });
  for (let i = 0; i < 2; i++) {
    const r = await gen('Once', { temperature: 0, num_predict: 8, ...ignored });
    equal(r.status, 200, `status (${JSON.stringify(r.json)})`);
    equal(r.json.response, base.json.response, 'the same text as without them');
  }
  for (const [name, value] of [['tfs_z', 0.5], ['num_batch', 'x'], ['num_thread', 1.5], ['use_mmap', 3],
    ['num_gpu', 'all'], ['penalize_newline', 'no'], ['mirostat', 3], ['mirostat', 1.5], ['mirostat_tau', -1],
    ['mirostat_eta', 'x'], ['typical_p', 2], ['typical_p', -0.1], ['num_keep', 'x'], ['seed', 'x']]) {
    const r = await post('/api/generate', { model: STORIES, prompt: 'x', options: { [name]: value } });
    equal(r.status, 400, `status of ${name} = ${JSON.stringify(value)}`);
    check(r.json.error.includes(`options.${name}`), `error '${r.json.error}' does not name options.${name}`);
  }
});

test('control bytes and NUL in model names (and NUL anywhere) are 400s naming the field', async () => {
  const body = (model, extra = '') => `{"model":"${model}","prompt":"x","stream":false${extra}}`;
  let r = await expectError('/api/generate', body(`${STORIES}\\u0000junk`), 400, /field 'model'.*NUL/, 'ollama');
  r = await expectError('/v1/completions', body(`${STORIES}\\u0000`), 400, /field 'model'.*NUL/, 'openai');
  equal(r.json.error.param, 'model', 'param');
  r = await expectError('/v1/chat/completions', body(`${STORIES}\\u0007`), 400, /field 'model'.*control/, 'openai');
  equal(r.json.error.param, 'model', 'param');
  await expectError('/api/chat', `{"model":"${STORIES}\\n","messages":[]}`, 400, /field 'model'.*control/, 'ollama');
  await expectError('/api/show', `{"name":"${STORIES}\\u0000x"}`, 400, /field 'name'.*NUL/, 'ollama');
  await expectError('/api/embed', `{"model":"${BERT}\\u001f","input":"x"}`, 400, /field 'model'/, 'ollama');
  await expectError('/tokenize', `{"model":"${STORIES}\\u0000","content":"x"}`, 400, /field 'model'/, 'openai');
  await expectError('/api/generate', body(STORIES, ',"keep_alive":"5m\\u0000"'), 400, /field 'keep_alive'/, 'ollama');
  await expectError('/api/chat', `{"model":"${STORIES}","messages":[{"role":"user","content":"a\\u0000b"}]}`, 400,
    /field 'messages\.content'.*NUL/, 'ollama');
  // An escaped backslash before "u0000" is not a NUL.
  r = await post('/api/generate', body(STORIES, ',"options":{"num_predict":1},"system":"a\\\\u0000"'));
  equal(r.status, 200, `an escaped backslash (${JSON.stringify(r.json)})`);
});

test('a text-generation request to an embedding model is a 400', async () => {
  await expectError('/v1/chat/completions', chatBody({ model: BERT }), 400, /embedding model/, 'openai');
  await expectError('/api/generate', { model: BERT, prompt: 'hi' }, 400, /embedding model/, 'ollama');
});

test('wrong method is a 405, unknown path a 404', async () => {
  const r = await get('/v1/chat/completions');
  equal(r.status, 405, 'GET /v1/chat/completions');
  check(r.json.error.message.includes('POST'), 'message names the method');
  const o = await json('POST', '/api/tags', {});
  equal(o.status, 405, 'POST /api/tags');
  equal(typeof o.json.error, 'string', 'Ollama error shape');
  const missing = await call('GET', '/api/nothing');
  equal(missing.status, 404, 'GET /api/nothing');
  await missing.text();
});

// ---- OpenAI generation --------------------------------------------------------

test('POST /v1/chat/completions (whole answer, usage, length)', async () => {
  const r = await post('/v1/chat/completions', chatBody({ max_tokens: 5 }));
  equal(r.status, 200, 'status');
  const c = r.json;
  equal(c.object, 'chat.completion', 'object');
  check(/^chatcmpl-[0-9a-f]+$/.test(c.id), `id ${c.id}`);
  check(Math.abs(c.created - Date.now() / 1000) < 600, `created ${c.created}`);
  equal(c.model, STORIES, 'model');
  equal(c.choices.length, 1, 'choices');
  equal(c.choices[0].message.role, 'assistant', 'role');
  equal(typeof c.choices[0].message.content, 'string', 'content');
  equal(c.choices[0].finish_reason, 'length', 'finish_reason');
  equal(c.usage.completion_tokens, 5, 'completion_tokens');
  check(c.usage.prompt_tokens > 0, 'prompt_tokens');
  equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens, 'total_tokens');
});

test('content as a list of text parts, and every role', async () => {
  const r = await post('/v1/chat/completions', chatBody({
    model: SMOL,
    max_tokens: 3,
    messages: [
      { role: 'system', content: 'You tell stories.' },
      { role: 'user', content: [{ type: 'text', text: 'Once ' }, { type: 'text', text: 'upon' }] },
      { role: 'assistant', content: 'a time' },
      { role: 'tool', content: '42' },
      { role: 'user', content: 'go on' },
    ],
  }));
  equal(r.status, 200, `status (${JSON.stringify(r.json)})`);
  await expectError('/v1/chat/completions', chatBody({ messages: [{ role: 'user', content: [{ type: 'image_url' }] }] }),
    400, /image_url|not supported/, 'openai');
});

test('streamed chat: role first, pieces, finish_reason, usage, [DONE]; same text as a whole answer', async () => {
  const body = chatBody({ max_tokens: 10, stream: true, stream_options: { include_usage: true } });
  const { res, items } = await stream('/v1/chat/completions', body);
  check(res.headers.get('content-type').startsWith('text/event-stream'), 'content type');
  equal(items[items.length - 1], '[DONE]', 'last event');
  const chunks = items.slice(0, -1);
  for (const c of chunks) equal(c.object, 'chat.completion.chunk', 'object');
  check(new Set(chunks.map((c) => c.id)).size === 1, 'one id');
  equal(chunks[0].choices[0].delta.role, 'assistant', 'first delta has the role');
  const usage = chunks[chunks.length - 1];
  equal(usage.choices.length, 0, 'usage chunk has no choices');
  equal(usage.usage.completion_tokens, 10, 'usage.completion_tokens');
  const finish = chunks[chunks.length - 2];
  equal(finish.choices[0].finish_reason, 'length', 'finish_reason');
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  const whole = await post('/v1/chat/completions', chatBody({ max_tokens: 10 }));
  equal(text, whole.json.choices[0].message.content, 'streamed text vs whole answer');
});

test('streamed chat without include_usage has no usage chunk', async () => {
  const { items } = await stream('/v1/chat/completions', chatBody({ max_tokens: 3, stream: true }));
  equal(items[items.length - 1], '[DONE]', 'last event');
  check(items.slice(0, -1).every((c) => c.choices.length === 1), 'every chunk has a choice');
});

test('seed: same seed and temperature give the same text', async () => {
  const a = await post('/v1/chat/completions', chatBody({ max_tokens: 16, seed: 7, temperature: 1 }));
  const b = await post('/v1/chat/completions', chatBody({ max_tokens: 16, seed: 7, temperature: 1 }));
  equal(a.json.choices[0].message.content, b.json.choices[0].message.content, 'same seed');
  const g1 = await post('/api/generate', { model: STORIES, prompt: 'Tom', stream: false, options: { seed: 3, num_predict: 8 } });
  const g2 = await post('/api/generate', { model: STORIES, prompt: 'Tom', stream: false, options: { seed: 3, num_predict: 8 } });
  equal(g1.json.response, g2.json.response, 'same Ollama seed');
});

test('stop strings end the text before them', async () => {
  const base = await post('/v1/completions', { model: STORIES, prompt: 'Once upon a time', max_tokens: 24, temperature: 0 });
  const text = base.json.choices[0].text;
  check(text.length > 6, `greedy text too short: ${JSON.stringify(text)}`);
  const stop = text.slice(4, 7);
  const expected = text.slice(0, text.indexOf(stop));
  for (const s of [stop, [stop, 'zzzz']]) {
    const r = await post('/v1/completions', { model: STORIES, prompt: 'Once upon a time', max_tokens: 24, temperature: 0, stop: s });
    equal(r.json.choices[0].text, expected, `text with stop ${JSON.stringify(s)}`);
    equal(r.json.choices[0].finish_reason, 'stop', 'finish_reason');
  }
  const o = await post('/api/generate', { model: STORIES, prompt: 'Once upon a time', raw: true, stream: false,
    options: { temperature: 0, num_predict: 24, stop: [stop] } });
  equal(o.json.response, expected, 'Ollama options.stop');
});

test('POST /v1/completions: string and list prompts, streaming', async () => {
  const r = await post('/v1/completions', { model: STORIES, prompt: 'Lily', max_tokens: 4, seed: 1 });
  equal(r.json.object, 'text_completion', 'object');
  check(/^cmpl-/.test(r.json.id), `id ${r.json.id}`);
  equal(typeof r.json.choices[0].text, 'string', 'text');
  equal(r.json.usage.completion_tokens, 4, 'completion_tokens');
  const l = await post('/v1/completions', { model: STORIES, prompt: ['Lily'], max_tokens: 4, seed: 1 });
  equal(l.json.choices[0].text, r.json.choices[0].text, 'list of one prompt');
  await expectError('/v1/completions', { model: STORIES, prompt: ['a', 'b'] }, 400, /prompt/, 'openai');
  const { items } = await stream('/v1/completions', { model: STORIES, prompt: 'Lily', max_tokens: 4, seed: 1, stream: true });
  equal(items[items.length - 1], '[DONE]', 'last event');
  const text = items.slice(0, -1).map((c) => c.choices[0].text).join('');
  equal(text, r.json.choices[0].text, 'streamed text');
  equal(items[items.length - 2].choices[0].finish_reason, 'length', 'finish_reason');
});

test('logit_bias, penalties and top_p are accepted', async () => {
  const r = await post('/v1/chat/completions', chatBody({
    logit_bias: { 1: -100, 2: 5 }, presence_penalty: 0.5, frequency_penalty: 0.5, top_p: 0.9, max_completion_tokens: 3,
  }));
  equal(r.status, 200, `status (${JSON.stringify(r.json)})`);
  equal(r.json.usage.completion_tokens, 3, 'max_completion_tokens');
});

// ---- Ollama generation --------------------------------------------------------

function checkFinal(o, what) {
  equal(o.done, true, `${what}: done`);
  check(['stop', 'length'].includes(o.done_reason), `${what}: done_reason ${o.done_reason}`);
  for (const k of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration'])
    check(Number.isInteger(o[k]) && o[k] >= 0, `${what}: ${k} = ${o[k]}`);
  check(o.prompt_eval_count > 0, `${what}: prompt_eval_count`);
  check(RFC3339.test(o.created_at) && o.created_at.includes('.'), `${what}: created_at ${o.created_at}`);
}

test('POST /api/generate streams NDJSON by default', async () => {
  const { res, items } = await stream('/api/generate', { model: `${STORIES}:latest`, prompt: 'Once', options: { num_predict: 5 } });
  check(res.headers.get('content-type').startsWith('application/x-ndjson'), 'content type');
  const last = items[items.length - 1];
  checkFinal(last, 'last line');
  equal(last.eval_count, 5, 'eval_count');
  equal(last.done_reason, 'length', 'done_reason');
  for (const o of items.slice(0, -1)) {
    equal(o.done, false, 'done of a piece');
    equal(typeof o.response, 'string', 'response');
    equal(o.model, `${STORIES}:latest`, 'model as asked');
  }
});

test('POST /api/generate without streaming; raw; format json; system; template', async () => {
  const r = await post('/api/generate', { model: STORIES, prompt: 'Once', stream: false, options: { num_predict: 4, temperature: 0 } });
  equal(r.status, 200, 'status');
  checkFinal(r.json, 'answer');
  equal(typeof r.json.response, 'string', 'response');
  const raw = await post('/api/generate', { model: STORIES, prompt: 'Once', raw: true, stream: false, options: { num_predict: 4, temperature: 0 } });
  check(raw.json.prompt_eval_count < r.json.prompt_eval_count, 'raw prompt skips the template');
  const fmt = await post('/api/generate', { model: STORIES, prompt: 'Once', format: 'json', stream: false, options: { num_predict: 2 } });
  equal(fmt.status, 200, 'format json accepted');
  const sys = await post('/api/generate', { model: STORIES, prompt: 'Once', system: 'Be brief.', stream: false, options: { num_predict: 2 } });
  check(sys.json.prompt_eval_count > r.json.prompt_eval_count, 'system adds to the prompt');
  const tpl = await post('/api/generate', { model: STORIES, prompt: 'Once', template: 'llama2', stream: false, options: { num_predict: 2 } });
  equal(tpl.status, 200, `built-in template (${JSON.stringify(tpl.json)})`);
  const jinja = await post('/api/generate', {
    model: STORIES, prompt: 'Once', stream: false, options: { num_predict: 2 },
    template: '{% for m in messages %}{{ m.content }}{% endfor %}',
  });
  check(jinja.json.prompt_eval_count < r.json.prompt_eval_count, 'Jinja template source');
  await expectError('/api/generate', { model: STORIES, prompt: 'x', template: 'nonsense' }, 400, /template/, 'ollama');
  // A request's Jinja source is capped at 64 KiB and renders under a small budget; hostile ones are 400s.
  await expectError('/api/generate', { model: STORIES, prompt: 'x', template: '{{ 1 }}' + ' '.repeat(70000) },
    400, /template is 70007 bytes, more than the limit of 64 KiB/, 'ollama');
  await expectError('/api/generate', {
    model: STORIES, prompt: 'x', template: '{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}',
  }, 400, /exceeded its (memory )?budget of (8 MiB|1000000 steps)/, 'ollama');
  await expectError('/api/chat', {
    model: STORIES, messages: [{ role: 'user', content: 'x' }], template: '{{ ' + '('.repeat(5000) + '1' + ')'.repeat(5000) + ' }}',
  }, 400, /line 1: expression nested deeper than 100 levels/, 'ollama');
  const long = await post('/api/generate', {
    model: STORIES, prompt: 'x', stream: false, options: { num_predict: 1 }, template: '{{ 0' + ' + 1'.repeat(15000) + ' }}',
  });
  equal(long.status, 200, `a 15,000-term sum renders (${JSON.stringify(long.json)})`);
});

test('format "json" / response_format json_object: the reply is (the start of) a JSON object', async () => {
  for (const seed of [1, 2, 3]) {
    const r = await post('/api/generate', {
      model: STORIES, prompt: 'Once', format: 'json', stream: false, options: { num_predict: 120, seed },
    });
    equal(r.status, 200, 'status');
    check(r.json.response.startsWith('{'), `response ${JSON.stringify(r.json.response)}`);
    if (r.json.done_reason === 'stop') check(typeof JSON.parse(r.json.response) === 'object', 'a whole object');
  }
  const schema = await post('/api/chat', {
    model: SMOL, messages: [{ role: 'user', content: 'JSON please' }], stream: false,
    format: { type: 'object', properties: { a: { type: 'string' } } }, options: { num_predict: 30 },
  });
  equal(schema.status, 200, 'a schema object');
  check(schema.json.message.content.startsWith('{'), `content ${JSON.stringify(schema.json.message.content)}`);
  const openai = await post('/v1/chat/completions', chatBody({ max_tokens: 40, response_format: { type: 'json_object' } }));
  equal(openai.status, 200, 'response_format');
  check(openai.json.choices[0].message.content.startsWith('{'), `content ${openai.json.choices[0].message.content}`);
  await expectError('/v1/chat/completions', chatBody({ response_format: { type: 'yaml' } }), 400, /response_format.type/, 'openai');
  await expectError('/api/generate', { model: STORIES, prompt: 'x', format: 'yaml' }, 400, /format/, 'ollama');
});

test('options.add_bos: false leaves BOS out, true keeps one', async () => {
  const ask = async (add_bos) => (await post('/api/generate', {
    model: STORIES, prompt: 'Once', stream: false, options: { num_predict: 1, temperature: 0, add_bos },
  })).json;
  const auto = await ask(undefined), on = await ask(true), off = await ask(false);
  equal(on.prompt_eval_count, auto.prompt_eval_count, 'add_bos true (the vocabulary adds BOS)');
  equal(off.prompt_eval_count, auto.prompt_eval_count - 1, 'add_bos false');
  await expectError('/api/generate', { model: STORIES, prompt: 'x', options: { add_bos: 'yes' } }, 400, /add_bos/, 'ollama');
});

test('POST /api/chat streamed and whole', async () => {
  const body = { model: STORIES, messages: [{ role: 'user', content: 'Hi' }], options: { num_predict: 6, seed: 5 } };
  const { items } = await stream('/api/chat', body);
  const last = items[items.length - 1];
  checkFinal(last, 'last line');
  equal(last.message.role, 'assistant', 'final message role');
  const text = items.slice(0, -1).map((o) => o.message.content).join('');
  const whole = await post('/api/chat', { ...body, stream: false });
  checkFinal(whole.json, 'whole answer');
  equal(whole.json.message.content, text, 'streamed vs whole text');
  equal(whole.json.eval_count, 6, 'eval_count');
});

test("a model's NAME.json defaults apply (num_predict 3, system prompt)", async () => {
  const r = await post('/api/chat', { model: SYS, messages: [{ role: 'user', content: 'Hi' }], stream: false });
  equal(r.json.eval_count <= 3, true, `eval_count ${r.json.eval_count}`);
  const plain = await post('/api/chat', { model: STORIES, messages: [{ role: 'user', content: 'Hi' }], stream: false, options: { num_predict: 1 } });
  check(r.json.prompt_eval_count > plain.json.prompt_eval_count, 'the default system prompt is in the prompt');
  const own = await post('/api/chat', {
    model: SYS, stream: false, messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'Hi' }],
  });
  check(own.json.prompt_eval_count < r.json.prompt_eval_count, "a request's system message replaces the default");
  const more = await post('/v1/chat/completions', { model: SYS, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 });
  equal(more.json.usage.completion_tokens <= 5, true, 'the request overrides the default num_predict');
});

// ---- loading, keep_alive --------------------------------------------------------

async function loadedNames() {
  const r = await get('/api/ps');
  equal(r.status, 200, 'ps status');
  return r.json.models.map((m) => m.name);
}

test('GET /api/ps; empty chat with keep_alive 0 unloads; empty prompt loads', async () => {
  await post('/api/generate', { model: STORIES, prompt: 'x', stream: false, options: { num_predict: 1 } });
  const ps = await get('/api/ps');
  const m = ps.json.models.find((x) => x.name === `${STORIES}:latest`);
  check(m, 'loaded model listed');
  check(m.size > 0, 'size');
  equal(m.size_vram, 0, 'size_vram');
  check(RFC3339.test(m.expires_at), `expires_at ${m.expires_at}`);
  equal(m.details.family, 'llama', 'details');
  const u = await post('/api/chat', { model: STORIES, messages: [], keep_alive: 0 });
  equal(u.status, 200, 'status');
  equal(u.json.done_reason, 'unload', 'done_reason');
  equal(u.json.done, true, 'done');
  equal(u.json.message.content, '', 'empty message');
  check(!(await loadedNames()).includes(`${STORIES}:latest`), 'unloaded');
  const l = await post('/api/generate', { model: STORIES });
  equal(l.json.done_reason, 'load', 'done_reason of an empty prompt');
  check((await loadedNames()).includes(`${STORIES}:latest`), 'loaded again');
  const g = await post('/api/generate', { model: STORIES, prompt: '', keep_alive: '0' });
  equal(g.json.done_reason, 'unload', 'empty prompt with keep_alive "0"');
  check(!(await loadedNames()).includes(`${STORIES}:latest`), 'unloaded by generate');
});

test('a streamed generation with keep_alive 0 unloads its model when done', async () => {
  const { items } = await stream('/api/chat', {
    model: SYS, messages: [{ role: 'user', content: 'Hi' }], keep_alive: 0, options: { num_predict: 2 },
  });
  equal(items[items.length - 1].done, true, 'done');
  await until(async () => !(await loadedNames()).includes(`${SYS}:latest`), 30000, 'unloaded after a stream');
  const r = await post('/api/generate', { model: SYS, prompt: 'Hi', stream: false, keep_alive: 0 });
  equal(r.status, 200, 'whole answer with keep_alive 0');
  /* The registry's reaper thread unloads it right after the answer. */
  await until(async () => !(await loadedNames()).includes(`${SYS}:latest`), 30000, 'unloaded after a whole answer');
});

test('keep_alive "1s" expires', async () => {
  // The model is let go after `sent`, so it cannot expire before sent + 1 s: checks against that
  // hold however slowly this client runs.
  const sent = Date.now();
  const r = await post('/api/generate', { model: SMOL, prompt: 'Hi', stream: false, keep_alive: '1s', options: { num_predict: 2 } });
  equal(r.status, 200, 'status');
  const names = await loadedNames();
  if (Date.now() - sent < 1000) check(names.includes(`${SMOL}:latest`), 'loaded');
  await until(async () => !(await loadedNames()).includes(`${SMOL}:latest`), 30000, 'unloaded after 1 s');
  check(Date.now() - sent >= 1000, 'unloaded before its keep_alive ran out');
});

// ---- streams without empty pieces, valid UTF-8 everywhere -------------------

test('streams carry no empty pieces: OpenAI only its role chunk, Ollama only the last line', async () => {
  for (let round = 0; round < 3; round++) {
    const chat = await stream('/v1/chat/completions', chatBody({ max_tokens: 8, stream: true, seed: round }));
    const chunks = chat.items.slice(0, -1);
    equal(chunks[0].choices[0].delta.role, 'assistant', 'role chunk first');
    equal(chunks[0].choices[0].delta.content, '', 'the role chunk has content ""');
    for (const c of chunks.slice(1, -1))
      check(c.choices[0].delta.content?.length > 0, `an empty chat piece: ${JSON.stringify(c)}`);
    equal(chunks[chunks.length - 1].choices[0].finish_reason, 'length', 'last chunk');
    const completion = await stream('/v1/completions', { model: STORIES, prompt: 'Lily', max_tokens: 6, seed: round, stream: true });
    for (const c of completion.items.slice(0, -2))
      check(c.choices[0].text.length > 0, `an empty completion piece: ${JSON.stringify(c)}`);
    for (const [path, body] of [['/api/generate', { model: STORIES, prompt: 'Once' }],
      ['/api/chat', { model: STORIES, messages: [{ role: 'user', content: 'Once' }] }]]) {
      const { items } = await stream(path, { ...body, options: { num_predict: 6, seed: round } });
      check(items.length >= 2, `${path}: ${items.length} lines`);
      for (const o of items.slice(0, -1)) {
        const piece = o.response ?? o.message?.content;
        check(piece?.length > 0, `${path}: an empty piece: ${JSON.stringify(o)}`);
      }
      equal(items[items.length - 1].done, true, `${path}: the last line is done`);
    }
  }
});

// Byte tokens (id 3 + byte in stories260K's vocabulary) pushed up so that the model emits raw bytes:
// the lead byte 0xE4 and continuation bytes, which form characters (E4 BD A0 is 你) or broken runs.
const BYTE_BIAS = Object.fromEntries([0xE4, 0xBD, 0xA0, 0xAA].map((b) => [3 + b, 100]));
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

// The raw body of an answer, checked to be UTF-8 byte for byte (node's fetch would hide bad bytes as U+FFFD).
async function rawUtf8(path, body) {
  const res = await call('POST', path, body);
  const bytes = Buffer.from(await res.arrayBuffer());
  let text;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new Failure(`${path}: the answer is not UTF-8: ${bytes.toString('hex').slice(0, 200)}`);
  }
  check(Buffer.from(text, 'utf8').equals(bytes), `${path}: not a UTF-8 round trip`);
  return { status: res.status, text, type: res.headers.get('content-type') };
}

test('every answer is valid UTF-8: byte tokens cut by max_tokens at every point, whole and streamed', async () => {
  let replaced = 0, characters = 0;
  let previous = null;
  for (let n = 1; n <= 14; n++) {
    const body = { model: STORIES, prompt: 'Once', max_tokens: n, seed: 4, temperature: 1, logit_bias: BYTE_BIAS };
    const whole = await rawUtf8('/v1/completions', body);
    equal(whole.status, 200, `status (${whole.text.slice(0, 200)})`);
    const text = JSON.parse(whole.text).choices[0].text;
    check(text.isWellFormed(), `lone surrogates in ${JSON.stringify(text)}`);
    if (text.includes('\uFFFD')) replaced++;
    if (/[^\x00-\x7F\uFFFD]/.test(text)) characters++;
    // One more token only adds text, except a character held at the cut (U+FFFD) that it completes.
    if (previous !== null) {
      const kept = previous.endsWith('\uFFFD') ? previous.slice(0, -1) : previous;
      check(text.startsWith(kept), `cut at ${n - 1}: ${JSON.stringify(previous)} is not the start of ${JSON.stringify(text)}`);
    }
    previous = text;
    const streamed = await rawUtf8('/v1/completions', { ...body, stream: true });
    const events = streamed.text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
    equal(events.map((e) => e.choices[0]?.text ?? '').join(''), text, `streamed text at ${n}`);
    const chat = await rawUtf8('/v1/chat/completions', { ...chatBody({ max_tokens: n, seed: 11, temperature: 1 }), logit_bias: BYTE_BIAS });
    JSON.parse(chat.text);
  }
  check(replaced > 0, 'no answer had a U+FFFD: the bias did not produce broken bytes');
  check(characters > 0, 'no answer had a multi-byte character');
  const d = await rawUtf8('/detokenize', { model: STORIES, tokens: [3 + 0xE4, 3 + 0xBD, 3 + 0xA0, 3 + 0xAA, 3 + 0xE4] });
  equal(JSON.parse(d.text).content, '\u4F60\uFFFD\uFFFD', '/detokenize: 你, a stray byte and an incomplete end');
  const t = await rawUtf8('/tokenize', { model: STORIES, content: '\u4F60', with_pieces: true });
  const pieces = JSON.parse(t.text).tokens.filter((p) => Array.isArray(p.piece));
  check(pieces.length >= 3, `/tokenize: byte pieces as byte lists: ${t.text}`);
});

// ---- tokenize, metrics ----------------------------------------------------------

test('POST /tokenize and /detokenize round trip', async () => {
  const content = 'Hello world, once upon a time.';
  const t = await post('/tokenize', { model: STORIES, content });
  equal(t.status, 200, 'status');
  check(t.json.tokens.length > 3 && t.json.tokens.every(Number.isInteger), `tokens ${t.json.tokens}`);
  const d = await post('/detokenize', { model: STORIES, tokens: t.json.tokens });
  equal(d.json.content, content, 'round trip');
  const special = await post('/tokenize', { model: STORIES, content, add_special: true });
  equal(special.json.tokens.length, t.json.tokens.length + 1, 'add_special adds BOS');
  const pieces = await post('/tokenize', { model: STORIES, content: 'Hello', with_pieces: true });
  check(pieces.json.tokens.every((p) => Number.isInteger(p.id) && 'piece' in p), 'pieces');
  await expectError('/tokenize', { model: STORIES }, 400, /content/, 'openai');
  await expectError('/detokenize', { model: STORIES, tokens: [1, 'x'] }, 400, /tokens/, 'openai');
  await expectError('/detokenize', { model: STORIES, tokens: [99999999] }, 400, /tokens/, 'openai');
});

test('GET /metrics: Prometheus text with the counters', async () => {
  const res = await call('GET', '/metrics');
  equal(res.status, 200, 'status');
  check(res.headers.get('content-type').startsWith('text/plain'), 'content type');
  const text = await res.text();
  for (const name of ['tinyllm_requests_total', 'tinyllm_requests_failed_total', 'tinyllm_prompt_tokens_total',
    'tinyllm_generated_tokens_total', 'tinyllm_tokens_per_second', 'tinyllm_models_loaded',
    'tinyllm_slots_active', 'tinyllm_queue_depth']) {
    check(text.includes(`# TYPE ${name} `), `no TYPE line for ${name}`);
    check(text.includes(`# HELP ${name} `), `no HELP line for ${name}`);
  }
  const value = (name) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
  check(value('tinyllm_requests_total') > 10, 'requests_total');
  check(value('tinyllm_requests_failed_total') > 5, 'requests_failed_total');
  check(value('tinyllm_generated_tokens_total') > 10, 'generated_tokens_total');
  check(value('tinyllm_tokens_per_second') > 0, 'tokens_per_second');
});

// ---- embeddings -----------------------------------------------------------------

test('POST /v1/embeddings: unit vectors, one per input, base64', async () => {
  const one = await post('/v1/embeddings', { model: BERT, input: 'Hello world' });
  equal(one.status, 200, `status (${JSON.stringify(one.json).slice(0, 200)})`);
  equal(one.json.object, 'list', 'object');
  equal(one.json.data.length, 1, 'one vector');
  const v = one.json.data[0].embedding;
  check(v.length > 0, 'length');
  check(Math.abs(norm(v) - 1) < 1e-3, `norm ${norm(v)}`);
  check(one.json.usage.prompt_tokens > 0, 'usage');
  const three = await post('/v1/embeddings', { model: BERT, input: ['Hello world', 'a cat', 'the dog barks'] });
  equal(three.json.data.length, 3, 'three vectors');
  three.json.data.forEach((d, i) => {
    equal(d.index, i, 'index');
    check(Math.abs(norm(d.embedding) - 1) < 1e-3, `norm of ${i}`);
  });
  const same = three.json.data[0].embedding.every((x, i) => Math.abs(x - v[i]) < 1e-5);
  check(same, 'the same input gives the same vector');
  const b64 = await post('/v1/embeddings', { model: BERT, input: 'Hello world', encoding_format: 'base64' });
  const bytes = Buffer.from(b64.json.data[0].embedding, 'base64');
  const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  check(floats.length === v.length && floats.every((x, i) => Math.abs(x - v[i]) < 1e-5), 'base64 vector');
  const ids = await post('/v1/embeddings', { model: BERT, input: [[101, 7592, 102]] });
  equal(ids.status, 200, 'token id input');
  const dec = await post('/v1/embeddings', { model: STORIES, input: 'Once upon a time' });
  check(Math.abs(norm(dec.json.data[0].embedding) - 1) < 1e-3, 'a decoder embeds too');
  await expectError('/v1/embeddings', { model: BERT, input: 'x', encoding_format: 'int8' }, 400, /encoding_format/, 'openai');
  await expectError('/v1/embeddings', { model: BERT, input: 5 }, 400, /input/, 'openai');
  await expectError('/v1/embeddings', { model: BERT, input: [] }, 400, /input/, 'openai');
  await expectError('/v1/embeddings', { model: BERT }, 400, /input/, 'openai');
  await expectError('/v1/embeddings', { model: BERT, input: 'word '.repeat(5000) }, 400, /more than the context/, 'openai');
  await expectError('/v1/embeddings', { model: BERT, input: Array(2049).fill('a b c') }, 400,
    /2049 inputs, more than the limit of 2048/, 'openai');
  await expectError('/api/embed', { model: BERT, input: Array(5000).fill('a') }, 400, /more than the limit of 2048/, 'ollama');
});

test('POST /api/embed and /api/embeddings', async () => {
  const r = await post('/api/embed', { model: `${BERT}:latest`, input: ['Hello world', 'a cat'] });
  equal(r.status, 200, 'status');
  equal(r.json.model, `${BERT}:latest`, 'model');
  equal(r.json.embeddings.length, 2, 'two vectors');
  for (const e of r.json.embeddings) check(Math.abs(norm(e) - 1) < 1e-3, 'unit norm');
  for (const k of ['total_duration', 'load_duration', 'prompt_eval_count']) check(Number.isInteger(r.json[k]), k);
  const one = await post('/api/embed', { model: BERT, input: 'Hello world' });
  equal(one.json.embeddings.length, 1, 'string input');
  const legacy = await post('/api/embeddings', { model: BERT, prompt: 'Hello world' });
  equal(legacy.json.embedding.length, one.json.embeddings[0].length, 'legacy vector');
  await expectError('/api/embed', { model: BERT, input: {} }, 400, /input/, 'ollama');
});

// ---- disconnects ----------------------------------------------------------------

test('a client that aborts a stream frees its slot; the next request is served', async () => {
  for (const [path, body] of [
    ['/v1/chat/completions', chatBody({ max_tokens: 100000, stream: true, seed: 9 })],
    ['/api/generate', { model: STORIES, prompt: 'Once', options: { num_predict: 100000 } }],
  ]) {
    const controller = new AbortController();
    const res = await call('POST', path, body, { signal: controller.signal });
    equal(res.status, 200, 'status');
    let seen = 0;
    try {
      await readStream(res, () => ++seen < 2);
    } finally {
      controller.abort();
    }
    check(seen >= 2, 'got the first pieces');
  }
  const start = Date.now();
  const r = await post('/v1/chat/completions', chatBody({ max_tokens: 4 }));
  equal(r.status, 200, 'next request');
  check(Date.now() - start < 20000 * SCALE, 'next request waited too long');
  // The aborted generations leave the slots (as /metrics counts them).
  await until(async () => (await inFlight()) === 0, 30000, 'every slot free after the aborts');
});

// ---- a full queue (a server started with --parallel 1 --queue 1) -----------------

const busyTests = [];
busyTests.push({
  name: 'a full queue answers 503 with Retry-After; later requests are served',
  fn: async () => {
    // A long generation (thousands of tokens of a random model, end-of-text banned) holds the only slot,
    // a second one the only queue place; each is seen in /metrics before the next is sent, so the third
    // finds both taken. An attempt counts only if the first was still generating when the third was
    // answered (on a very slow machine it could end in between; then the attempt is made again).
    const body = chatBody({ model: SMOL, max_tokens: 4000, stream: true, logit_bias: { 0: -100, 1: -100, 2: -100 } });
    const open = async () => {
      const controller = new AbortController();
      const res = await call('POST', '/v1/chat/completions', body, { signal: controller.signal });
      const held = { res, controller, ended: false };
      held.done = res.text().then(() => { held.ended = true; }, () => { held.ended = true; });
      return held;
    };
    let third;
    for (let attempt = 0; attempt < 3; attempt++) {
      const first = await open();
      equal(first.res.status, 200, 'the first request');
      await until(async () => (await inFlight(SMOL)) >= 1, 60000, 'the first request generating');
      const second = await open();
      equal(second.res.status, 200, 'the second request (queued)');
      await until(async () => (await inFlight(SMOL)) >= 2, 60000, 'the second request queued');
      const thirdController = new AbortController();
      third = await call('POST', '/v1/chat/completions', body, { signal: thirdController.signal });
      const valid = !first.ended;
      const json = third.status === 503 ? await third.json() : null;
      for (const held of [first, second]) held.controller.abort();
      thirdController.abort();
      await Promise.all([first.done, second.done]);
      if (!valid) continue;
      equal(third.status, 503, 'the third request, with the slot and the queue taken');
      equal(third.headers.get('retry-after'), '1', 'Retry-After');
      check(/busy/.test(json.error.message), `message ${json.error.message}`);
      break;
    }
    check(third && third.status === 503, 'no attempt saw the slot and the queue taken');
    let r;
    await until(async () => (r = await post('/v1/chat/completions', chatBody({ model: SMOL, max_tokens: 2 }))).status !== 503,
      60000, 'a later request served');
    equal(r.status, 200, 'a later request');
  },
});

// ---- least recently used unloading (a server started with --max-loaded 1) ---------

const lruTests = [];
lruTests.push({
  name: '--max-loaded 1: loading another model unloads the idle one (seen in /api/ps)',
  fn: async () => {
    const ask = (model) => post('/api/generate', { model, prompt: 'Once', stream: false, options: { num_predict: 2 } });
    equal((await ask(SYS)).status, 200, 'first model');
    equal((await loadedNames()).join(), `${SYS}:latest`, 'loaded after the first request');
    equal((await ask(SMOL)).status, 200, 'second model');
    equal((await loadedNames()).join(), `${SMOL}:latest`, 'the first was unloaded for the second');
    equal((await ask(SYS)).status, 200, 'first model again');
    equal((await loadedNames()).join(), `${SYS}:latest`, 'and back');
  },
});
lruTests.push({
  name: '--max-loaded 1: a model held by a running request is not unloaded; the other request gets 503',
  fn: async () => {
    // A reply that cannot end before it is aborted: thousands of tokens (-c 4096) of a random model
    // with end-of-text and the chat-template tokens banned (a random model draws them now and then).
    const controller = new AbortController();
    const res = await call('POST', '/v1/completions', {
      model: SMOL, prompt: 'Once', max_tokens: 100000, stream: true, logit_bias: { 0: -100, 1: -100, 2: -100 },
    }, { signal: controller.signal });
    equal(res.status, 200, 'the long request');
    let ended = false;
    const reading = readStream(res, (item) => {
      if (item === '[DONE]' || item.choices?.[0]?.finish_reason) ended = true;
    }).catch(() => {});
    // Wait for a state, not for a time: the reply is being generated, so its model is held.
    await until(async () => (await inFlight(SMOL)) >= 1, 60000, 'the long reply running');
    const other = await post('/api/generate', { model: SYS, prompt: 'Once', stream: false, options: { num_predict: 2 } });
    const stillRunning = (await inFlight(SMOL)) >= 1 && !ended;
    controller.abort();
    await reading;
    check(stillRunning, 'the long reply ended before the other request was answered');
    equal(other.status, 503, `the other model (${JSON.stringify(other.json)})`);
    check(/max-loaded/.test(other.json.error), `message ${other.json.error}`);
    equal((await loadedNames()).join(), `${SMOL}:latest`, 'the held model stays');
  },
});

// ---- run --------------------------------------------------------------------------

let failed = 0;
const suites = { busy: busyTests, lru: lruTests };
const chosen = suites[process.argv[3]] || tests;
for (const t of chosen) {
  try {
    await t.fn();
    console.log(`ok: ${t.name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL: ${t.name}: ${err instanceof Failure ? err.message : err.stack}`);
  }
}
const n = chosen.length;
console.log(`${n - failed}/${n} passed`);
process.exit(failed ? 1 : 0);
