// store_api_test.mjs — the model management endpoints of `tinyllm serve`
// over the model store and the Hub: /api/pull (streaming and not, from the
// local mock Hub tests/hub/mock_hub.mjs), /api/tags, /api/show, /api/copy,
// /api/create, /api/delete, who may pull, bad bodies, a client that leaves
// mid-pull, two pulls of one model at once. Node's http module only.
//
//   node tests/server/store_api_test.mjs TINYLLM MODELS_DIR TMP_DIR
//
// MODELS_DIR holds stories260K.gguf and stories260K-v2-q8_0.gguf (the shared
// models); TMP_DIR is scratch space (the store, the mock Hub's config and log).
// Every wait polls with a generous deadline. Prints "ok: NAME" / "FAIL: NAME:
// why" per test, then "N passed, M failed"; exits 1 on a failure.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [TINYLLM, MODELS, TMP] = process.argv.slice(2);
if (!TMP) {
  console.error('usage: node store_api_test.mjs TINYLLM MODELS_DIR TMP_DIR');
  process.exit(2);
}
const HERE = path.dirname(fileURLToPath(import.meta.url));
const Q4 = path.join(MODELS, 'stories260K.gguf');
const Q8 = path.join(MODELS, 'stories260K-v2-q8_0.gguf');
const sha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

class Failure extends Error {}
function check(cond, message) {
  if (!cond) throw new Failure(message);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(fn, ms, every = 50) {
  const end = Date.now() + ms;
  let value;
  while (!(value = await fn()) && Date.now() < end) await sleep(every);
  return value;
}

// ---- processes ---------------------------------------------------------------

const children = [];
function startProcess(cmd, args, env, ready) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  const p = { child, out: '', err: '' };
  child.stdout.on('data', (d) => (p.out += d));
  child.stderr.on('data', (d) => (p.err += d));
  return until(() => p.out.match(ready)?.[1], 30000).then((port) => {
    if (!port) throw new Error(`${cmd} did not start: ${p.err}`);
    p.port = Number(port);
    return p;
  });
}
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

const STORE = path.join(TMP, 'store');
fs.mkdirSync(TMP, { recursive: true });
const hubLog = path.join(TMP, 'hub-requests.jsonl');
fs.writeFileSync(path.join(TMP, 'hub.json'), JSON.stringify({
  log: hubLog,
  repos: {
    'test/stories-GGUF': { files: { 'stories-Q4_K_M.gguf': Q4, 'stories-Q8_0.gguf': Q8 } },
    'test/slow-GGUF': { slow_ms: 30, files: { 'stories-Q8_0.gguf': Q8 } },
    'test/crawl-GGUF': { slow_ms: 150, files: { 'stories-Q4_K_M.gguf': Q4 } },
    'test/ui-GGUF': { slow_ms: 20, files: { 'stories-Q8_0.gguf': Q8 } },
  },
}));
const hub = await startProcess('node', [path.join(HERE, '../hub/mock_hub.mjs'), path.join(TMP, 'hub.json')], {},
  /^listening (\d+)/m);
const HUB = `http://127.0.0.1:${hub.port}`;
const env = { TINYLLM_MODELS: STORE, TINYLLM_HUB_RETRY_MS: '50', HF_TOKEN: '', HF_ENDPOINT: '' };
const serve = (args, extra = {}) =>
  startProcess(TINYLLM, ['serve', '--port', '0', ...args], { ...env, ...extra }, /listening on http:\/\/[^ ]+:(\d+)/);
const srv = await serve(['--allow-pull', '--hub-endpoint', HUB]);

// ---- requests ----------------------------------------------------------------

function request(port, method, urlPath, body, headers = {}) {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent: false,
      headers: text !== undefined
        ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers }
        : headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(data); } catch { /* NDJSON or empty */ }
        resolve({ status: res.statusCode, headers: res.headers, body: data, json });
      });
    });
    req.on('error', (e) => resolve({ status: 0, error: String(e), body: '' }));
    if (text !== undefined) req.write(text);
    req.end();
  });
}
const post = (p, body, port = srv.port, headers) => request(port, 'POST', p, body, headers);
const lines = (text) => text.split('\n').filter((l) => l).map((l) => JSON.parse(l));
const tags = async () => (await request(srv.port, 'GET', '/api/tags')).json.models.map((m) => m.name);

// Checks a streamed pull's objects: Ollama's statuses in order, completed <= total and never going back.
function checkProgress(objects, digest) {
  const statuses = objects.map((o) => o.status);
  check(statuses[0] === 'pulling manifest', `first status ${statuses[0]}`);
  check(statuses.at(-1) === 'success', `last object ${JSON.stringify(objects.at(-1))}`);
  const pulling = objects.filter((o) => o.status?.startsWith('pulling ') && o.status !== 'pulling manifest');
  check(pulling.length >= 1, 'no "pulling <digest>" object');
  let last = -1;
  for (const o of pulling) {
    check(o.status === `pulling ${digest.slice(0, 12)}`, `status ${o.status}`);
    check(o.digest === `sha256:${digest}`, `digest ${o.digest}`);
    check(Number.isInteger(o.total) && Number.isInteger(o.completed), `total/completed ${JSON.stringify(o)}`);
    check(o.completed <= o.total, `completed ${o.completed} > total ${o.total}`);
    check(o.completed >= last, `completed went back from ${last} to ${o.completed}`);
    last = o.completed;
  }
  check(last === pulling[0].total, `the last progress ${last} is not the total ${pulling[0].total}`);
  const order = ['pulling manifest', 'verifying sha256 digest', 'writing manifest', 'success'];
  const seen = statuses.filter((s) => order.includes(s));
  check(JSON.stringify(seen) === JSON.stringify(order), `statuses ${JSON.stringify(seen)}`);
}

// ---- the tests ---------------------------------------------------------------

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const MODEL = 'test/stories-GGUF:Q4_K_M';
test('streaming pull: Ollama progress objects in order', async () => {
  const r = await post('/api/pull', { model: MODEL });
  check(r.status === 200, `status ${r.status}: ${r.body}`);
  check(r.headers['content-type'].startsWith('application/x-ndjson'), `content-type ${r.headers['content-type']}`);
  checkProgress(lines(r.body), sha(Q4));
});

test('the pulled model is in /api/tags and generates', async () => {
  const models = (await request(srv.port, 'GET', '/api/tags')).json.models;
  const m = models.find((x) => x.name === MODEL);
  check(m, `not in /api/tags: ${models.map((x) => x.name)}`);
  check(m.size === fs.statSync(Q4).size && m.digest === sha(Q4), `size/digest ${m.size} ${m.digest}`);
  const g = await post('/api/generate', { model: MODEL, prompt: 'Once upon a time', stream: false,
    options: { num_predict: 4, temperature: 0 } });
  check(g.status === 200 && g.json.done === true && g.json.eval_count > 0, `generate ${g.status}: ${g.body}`);
});

test('/api/show of the pulled model', async () => {
  const r = await post('/api/show', { model: MODEL });
  check(r.status === 200, `status ${r.status}: ${r.body}`);
  check(r.json.details?.family === 'llama' && r.json.model_info, `show ${r.body.slice(0, 300)}`);
});

test('non-streaming pull: one final object', async () => {
  const r = await post('/api/pull', { model: 'test/stories-GGUF:Q8_0', stream: false });
  check(r.status === 200 && r.json?.status === 'success', `pull ${r.status}: ${r.body}`);
  check(r.body.trim().split('\n').length === 1, `more than one object: ${r.body}`);
  check((await tags()).includes('test/stories-GGUF:Q8_0'), 'not in /api/tags');
});

test('two pulls of one model at once: one download, both succeed', async () => {
  const before = fs.readFileSync(hubLog, 'utf8').split('\n').filter((l) => l.includes('/cdn/')).length;
  const [a, b] = await Promise.all([post('/api/pull', { model: 'test/slow-GGUF' }),
    post('/api/pull', { model: 'test/slow-GGUF', stream: false })]);
  check(a.status === 200 && lines(a.body).at(-1).status === 'success', `first ${a.status}: ${a.body.slice(-200)}`);
  check(b.status === 200 && b.json?.status === 'success', `second ${b.status}: ${b.body}`);
  const cdn = fs.readFileSync(hubLog, 'utf8').split('\n').filter((l) => l.includes('/cdn/')).length - before;
  check(cdn === 1, `the file was downloaded ${cdn} times`);
  check((await tags()).includes('test/slow-GGUF:latest'), 'not in /api/tags');
});

test('/api/copy: a second name, answering', async () => {
  const r = await post('/api/copy', { source: MODEL, destination: 'story-copy' });
  check(r.status === 200, `copy ${r.status}: ${r.body}`);
  check((await tags()).includes('story-copy:latest'), 'the copy is not in /api/tags');
  const g = await post('/api/generate', { model: 'story-copy', prompt: 'Once', stream: false,
    options: { num_predict: 2 } });
  check(g.status === 200 && g.json.done, `generate ${g.status}: ${g.body}`);
  const missing = await post('/api/copy', { source: 'nothing-here', destination: 'x' });
  check(missing.status === 404 && /not found/.test(missing.json?.error), `unknown source ${missing.status}: ${missing.body}`);
});

test('/api/create with a system prompt: shown, and the chat uses it', async () => {
  const system = 'You are a pirate who tells very short stories about the sea and ships.';
  const r = await post('/api/create', { model: 'pirate', from: MODEL, system,
    parameters: { temperature: 0, num_predict: 3 } });
  check(r.status === 200, `create ${r.status}: ${r.body}`);
  const statuses = lines(r.body).map((o) => o.status);
  check(statuses.at(-1) === 'success' && statuses.includes('writing manifest'), `statuses ${statuses}`);
  check((await tags()).includes('pirate:latest'), 'not in /api/tags');
  const show = await post('/api/show', { model: 'pirate' });
  check(show.status === 200 && show.json.system === system, `show system ${show.json?.system}`);
  check(/num_predict\s+3/.test(show.json.parameters), `show parameters ${show.json.parameters}`);
  const messages = [{ role: 'user', content: 'Hello' }];
  const base = await post('/api/chat', { model: MODEL, messages, stream: false, options: { num_predict: 3 } });
  const own = await post('/api/chat', { model: 'pirate', messages, stream: false });
  check(own.status === 200 && base.status === 200, `chat ${own.status} ${base.status}: ${own.body}`);
  check(own.json.prompt_eval_count > base.json.prompt_eval_count + 10,
    `the system prompt is not in the chat's prompt: ${own.json.prompt_eval_count} vs ${base.json.prompt_eval_count}`);
  check(own.json.eval_count <= 3, `num_predict 3 of the created model ignored: ${own.json.eval_count}`);
  const quiet = await post('/api/create', { model: 'pirate2', from: 'pirate', stream: false });
  check(quiet.status === 200 && quiet.json?.status === 'success', `non-streaming create ${quiet.status}: ${quiet.body}`);
});

test('/api/delete: gone from /api/tags, 404 the second time', async () => {
  const r = await request(srv.port, 'DELETE', '/api/delete', { model: 'story-copy' });
  check(r.status === 200, `delete ${r.status}: ${r.body}`);
  check(!(await tags()).includes('story-copy:latest'), 'still in /api/tags');
  const again = await request(srv.port, 'DELETE', '/api/delete', { model: 'story-copy' });
  check(again.status === 404 && again.json?.error === "model 'story-copy' not found", `again ${again.status}: ${again.body}`);
  const g = await post('/api/generate', { model: 'story-copy', prompt: 'x', stream: false });
  check(g.status === 404, `generate on a deleted model: ${g.status}`);
  // The copy's file is the original's: the original still answers.
  const o = await post('/api/generate', { model: MODEL, prompt: 'Once', stream: false, options: { num_predict: 2 } });
  check(o.status === 200, `the original after deleting its copy: ${o.status} ${o.body}`);
});

test('/api/delete of a loaded model: it unloads and disappears', async () => {
  await post('/api/copy', { source: MODEL, destination: 'loaded-one' });
  const g = await post('/api/generate', { model: 'loaded-one', prompt: 'Once', stream: false,
    options: { num_predict: 2 } });
  check(g.status === 200, `generate ${g.status}`);
  const ps = async () => (await request(srv.port, 'GET', '/api/ps')).json.models.map((m) => m.name);
  check((await ps()).includes('loaded-one:latest'), 'not loaded');
  const r = await request(srv.port, 'DELETE', '/api/delete', { model: 'loaded-one' });
  check(r.status === 200, `delete ${r.status}: ${r.body}`);
  check(await until(async () => !(await ps()).includes('loaded-one:latest'), 10000), 'still in /api/ps');
  check(!(await tags()).includes('loaded-one:latest'), 'still in /api/tags');
});

test('models the CLI adds to or removes from the store appear and disappear without a restart', async () => {
  const cli = (...args) => spawnSync(TINYLLM, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  const cp = cli('cp', MODEL, 'cli-copy');
  check(cp.status === 0, `tinyllm cp: ${cp.stderr}`);
  check((await tags()).includes('cli-copy:latest'), 'the CLI\'s copy is not in /api/tags');
  const created = cli('create', 'cli-made', '--from', MODEL, '--system', 'Be brief.');
  check(created.status === 0, `tinyllm create: ${created.stderr}`);
  const g = await post('/api/generate', { model: 'cli-made', prompt: 'Once', stream: false, options: { num_predict: 2 } });
  check(g.status === 200, `a model the CLI created, asked before /api/tags: ${g.status} ${g.body}`);
  const rm = cli('rm', 'cli-copy', 'cli-made');
  check(rm.status === 0, `tinyllm rm: ${rm.stderr}`);
  const names = await tags();
  check(!names.includes('cli-copy:latest') && !names.includes('cli-made:latest'), `still listed: ${names}`);
});

test('a Hub 404: the Ollama-style error', async () => {
  const r = await post('/api/pull', { model: 'test/no-such-GGUF', stream: false });
  check(r.status === 404 && /^pull model manifest: unknown repository test\/no-such-GGUF/.test(r.json?.error),
    `non-streaming ${r.status}: ${r.body}`);
  const s = await post('/api/pull', { model: 'test/no-such-GGUF' });
  const objects = lines(s.body);
  check(s.status === 200 && objects[0].status === 'pulling manifest' && /unknown repository/.test(objects.at(-1).error),
    `streaming ${s.status}: ${s.body}`);
  check(!(await tags()).some((n) => n.includes('no-such')), 'a model appeared');
  const tag = await post('/api/pull', { model: 'test/stories-GGUF:IQ2_XS', stream: false });
  check(tag.status === 404 && /no GGUF file for tag 'IQ2_XS' \(tags there: .*Q4_K_M/.test(tag.json?.error),
    `no file for the tag: ${tag.status} ${tag.body}`);
});

test('400s for bad bodies', async () => {
  const cases = [
    ['/api/pull', 'not json', /JSON|json/],
    ['/api/pull', {}, /'model' is required/],
    ['/api/pull', { model: 42 }, /'model' must be a string/],
    ['/api/pull', { model: MODEL, stream: 'yes' }, /'stream' must be/],
    ['/api/pull', { model: MODEL, insecure: 1 }, /'insecure' must be/],
    ['/api/pull', { model: 'bad ref with spaces' }, /spaces/],
    ['/api/copy', { source: MODEL }, /'destination' is required/],
    ['/api/create', { model: 'x' }, /'from' is required/],
    ['/api/create', { model: 'x', from: MODEL, parameters: { temperature: 'hot' } }, /parameters.temperature/],
    ['/api/create', { model: 'x', from: MODEL, template: 'no-such-template' }, /template/],
    ['/api/create', { model: 'x', from: MODEL, files: { 'a.gguf': 'sha256:00' } }, /'files' is not supported/],
    ['/api/create', { model: '../evil', from: MODEL }, /./],
  ];
  for (const [p, body, re] of cases) {
    const r = await post(p, body);
    check(r.status === 400 && re.test(r.json?.error ?? ''), `${p} ${JSON.stringify(body)}: ${r.status} ${r.body}`);
  }
  const d = await request(srv.port, 'DELETE', '/api/delete', {});
  check(d.status === 400, `delete without a model: ${d.status}`);
  const m = await request(srv.port, 'GET', '/api/pull');
  check(m.status === 405, `GET /api/pull: ${m.status}`);
  check(!(await tags()).includes('x:latest'), 'a bad create left a model');
});

test('a client that disconnects mid-pull cancels it: no model, the server healthy', async () => {
  const name = 'test/crawl-GGUF:latest';
  const cancelled = await new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, method: 'POST', path: '/api/pull', agent: false,
      headers: { 'Content-Type': 'application/json' } }, (res) => {
      let buffered = '';
      res.on('data', (d) => {
        buffered += d;
        const progress = lines(buffered.slice(0, buffered.lastIndexOf('\n') + 1))
          .filter((o) => o.completed > 0);
        if (progress.length) {
          req.destroy();
          resolve(progress.at(-1));
        }
      });
      res.on('end', () => resolve(null));
    });
    req.on('error', () => {});
    req.end(JSON.stringify({ model: 'test/crawl-GGUF' }));
  });
  check(cancelled && cancelled.completed < cancelled.total, `no partial progress before the end: ${JSON.stringify(cancelled)}`);
  check(await until(() => /POST \/api\/pull model=test\/crawl-GGUF status=499/.test(srv.err), 15000),
    `the pull did not end as cancelled: ${srv.err.split('\n').filter((l) => l.includes('crawl')).join(' | ')}`);
  check(!(await tags()).includes(name), 'the cancelled model is in /api/tags');
  const manifests = fs.readdirSync(STORE, { recursive: true }).filter((f) => String(f).includes('crawl'));
  check(manifests.every((f) => !String(f).startsWith('manifests')), `a manifest: ${manifests}`);
  const h = await request(srv.port, 'GET', '/health');
  check(h.status === 200, `health ${h.status}`);
});

test('403 without --allow-pull; the API key allows it', async () => {
  const plain = await serve(['--hub-endpoint', HUB]);
  const r = await post('/api/pull', { model: 'test/stories-GGUF:Q8_0' }, plain.port);
  check(r.status === 403 && /--allow-pull/.test(r.json?.error), `no --allow-pull: ${r.status} ${r.body}`);
  plain.child.kill('SIGTERM');
  const keyed = await serve(['--api-key', 'sekret'], { HF_ENDPOINT: HUB });
  const none = await post('/api/pull', { model: 'test/stories-GGUF:Q8_0' }, keyed.port);
  check(none.status === 401, `without the key: ${none.status}`);
  const ok = await post('/api/pull', { model: 'test/stories-GGUF:Q8_0', stream: false }, keyed.port,
    { Authorization: 'Bearer sekret' });
  check(ok.status === 200 && ok.json?.status === 'success', `with the key (HF_ENDPOINT): ${ok.status} ${ok.body}`);
  keyed.child.kill('SIGTERM');
});

test('the server stops cleanly', async () => {
  const code = await new Promise((resolve) => {
    srv.child.on('exit', (c) => resolve(c));
    srv.child.kill('SIGTERM');
  });
  check(code === 0, `exit code ${code}: ${srv.err.slice(-500)}`);
  check(!/Sanitizer|runtime error/.test(srv.err), `a sanitizer report: ${srv.err.slice(-2000)}`);
});

let passed = 0;
let failed = 0;
for (const t of tests) {
  try {
    await t.fn();
    console.log(`ok: ${t.name}`);
    passed++;
  } catch (e) {
    console.log(`FAIL: ${t.name}: ${e instanceof Failure ? e.message : e.stack}`);
    failed++;
  }
}
console.log(`${passed} passed, ${failed} failed`);
hub.child.kill('SIGTERM');
process.exit(failed ? 1 : 0);
