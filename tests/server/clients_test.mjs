// clients_test.mjs — the official `openai` and `ollama` npm packages, unchanged,
// against `tinyllm serve`: list models, stream a chat, get a whole answer and
// embeddings. Not part of the default tests (it needs the packages): run it
// through scripts/test-clients.sh, which installs them and sets NODE_PATH.
//
//   NODE_PATH=DIR/node_modules node tests/server/clients_test.mjs BASE_URL CHAT_MODEL EMBED_MODEL
import { createRequire } from 'node:module';

// require() honours NODE_PATH (ESM imports do not).
const require = createRequire(import.meta.url);
const openaiModule = require('openai');
const OpenAI = openaiModule.OpenAI ?? openaiModule.default ?? openaiModule;
const { Ollama } = require('ollama');

const [BASE, CHAT, EMBED] = process.argv.slice(2);
if (!BASE || !CHAT || !EMBED) {
  console.error('usage: node clients_test.mjs BASE_URL CHAT_MODEL EMBED_MODEL');
  process.exit(2);
}

let failed = 0;
async function test(name, fn) {
  try {
    await fn();
    console.log(`ok: ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL: ${name}: ${err.stack ?? err}`);
  }
}
function check(cond, message) {
  if (!cond) throw new Error(message);
}
const norm = (v) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
const messages = [{ role: 'user', content: 'Once upon a time' }];

const openai = new OpenAI({ baseURL: `${BASE}/v1`, apiKey: process.env.TINYLLM_API_KEY ?? 'none' });
const ollama = new Ollama({ host: BASE });

await test('openai: models.list', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  check(ids.includes(CHAT) && ids.includes(EMBED), `models: ${ids}`);
});

await test('openai: a streamed chat', async () => {
  const stream = await openai.chat.completions.create({
    model: CHAT, messages, stream: true, max_tokens: 16, seed: 1, stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  check(text.length > 0, 'no text');
  check(['stop', 'length'].includes(finish), `finish_reason ${finish}`);
  check(usage && usage.completion_tokens > 0, `usage ${JSON.stringify(usage)}`);
  const whole = await openai.chat.completions.create({ model: CHAT, messages, max_tokens: 16, seed: 1 });
  check(whole.choices[0].message.content === text, 'streamed and whole answers differ');
});

await test('openai: a completion', async () => {
  const r = await openai.completions.create({ model: CHAT, prompt: 'Once', max_tokens: 4 });
  check(typeof r.choices[0].text === 'string' && r.usage.completion_tokens > 0, JSON.stringify(r));
});

await test('openai: embeddings (the client asks for base64)', async () => {
  const r = await openai.embeddings.create({ model: EMBED, input: ['Hello world', 'a cat'] });
  check(r.data.length === 2, `${r.data.length} vectors`);
  for (const d of r.data) check(Math.abs(norm(d.embedding) - 1) < 1e-3, `norm ${norm(d.embedding)}`);
  const f = await openai.embeddings.create({ model: EMBED, input: 'Hello world', encoding_format: 'float' });
  check(f.data[0].embedding.every((x, i) => Math.abs(x - r.data[0].embedding[i]) < 1e-5), 'float vs base64');
});

await test('openai: errors are APIError with the status', async () => {
  try {
    await openai.chat.completions.create({ model: 'nope', messages });
    check(false, 'no error');
  } catch (err) {
    check(err.status === 404, `status ${err.status}`);
  }
});

await test('ollama: list, show, ps, version', async () => {
  const list = await ollama.list();
  check(list.models.some((m) => m.name === `${CHAT}:latest`), JSON.stringify(list.models.map((m) => m.name)));
  const show = await ollama.show({ model: CHAT });
  check(typeof show.template === 'string', 'template');
  await ollama.ps();
  const v = await ollama.version();
  check(typeof v.version === 'string', 'version');
});

await test('ollama: a streamed chat', async () => {
  const stream = await ollama.chat({ model: CHAT, messages, stream: true, options: { num_predict: 16, seed: 2 } });
  let text = '';
  let last = null;
  for await (const part of stream) {
    text += part.message.content;
    last = part;
  }
  check(text.length > 0, 'no text');
  check(last.done && last.eval_count > 0, `last part ${JSON.stringify(last)}`);
  const whole = await ollama.chat({ model: CHAT, messages, options: { num_predict: 16, seed: 2 } });
  check(whole.message.content === text, 'streamed and whole answers differ');
});

await test('ollama: generate', async () => {
  const r = await ollama.generate({ model: CHAT, prompt: 'Once', options: { num_predict: 4 } });
  check(typeof r.response === 'string' && r.done, JSON.stringify(r));
});

await test('ollama: embed', async () => {
  const r = await ollama.embed({ model: EMBED, input: ['Hello world', 'a cat'] });
  check(r.embeddings.length === 2, `${r.embeddings.length} vectors`);
  for (const e of r.embeddings) check(Math.abs(norm(e) - 1) < 1e-3, `norm ${norm(e)}`);
});

await test('ollama: errors are thrown with the message', async () => {
  try {
    await ollama.chat({ model: 'nope', messages });
    check(false, 'no error');
  } catch (err) {
    check(/not found/.test(err.message), err.message);
  }
});

console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
