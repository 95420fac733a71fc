// limits_test.mjs — connections an attacker cannot exhaust: tests of the
// connection layer of `tinyllm serve` (deadlines, caps, busy handlers) with
// node's net and http modules only (no npm packages).
//
//   node tests/server/limits_test.mjs TINYLLM STORIES_GGUF SMOL_GGUF
//
// Starts its own servers (--port 0) on the given models: stories260K and a
// random-weight smollm2 (whose end-of-text can be banned, so a reply lasts).
// Slow clients connect from 127.0.0.2 and up (all of 127/8 is loopback), the
// normal client from 127.0.0.1. Every wait polls with a generous deadline.
// Prints "ok: NAME" / "FAIL: NAME: why" per test, then "N passed, M failed".
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';

const [TINYLLM, STORIES, SMOL] = process.argv.slice(2);
if (!SMOL) {
  console.error('usage: node limits_test.mjs TINYLLM STORIES_GGUF SMOL_GGUF');
  process.exit(2);
}

class Failure extends Error {}
function check(cond, message) {
  if (!cond) throw new Failure(message);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Polls `fn` until it returns a truthy value or `ms` pass; returns the last value.
async function until(fn, ms, every = 50) {
  const end = Date.now() + ms;
  let value;
  while (!(value = await fn()) && Date.now() < end) await sleep(every);
  return value;
}

// ---- servers ----------------------------------------------------------------

const servers = [];
async function startServer(args) {
  const child = spawn(TINYLLM, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const port = await until(() => out.match(/listening on http:\/\/[^ ]+:(\d+)/)?.[1], 30000);
  if (!port) throw new Error(`the server did not start: ${err}`);
  return { port: Number(port), child, stderr: () => err };
}
// Stops a server with SIGTERM: it must exit 0 with nothing on stderr but the stop notice and log lines (sanitizer
// reports would show up there).
async function stopServer(server) {
  const code = server.child.exitCode ?? await new Promise((resolve) => {
    server.child.on('exit', (c) => resolve(c));
    server.child.kill('SIGTERM');
  });
  check(code === 0, `the server's exit code ${code}: ${server.stderr()}`);
  const logLine = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /; // the request and model log
  const unexpected = server.stderr().split('\n')
    .filter((l) => l && l !== 'tinyllm serve: SIGTERM received, stopping' && !logLine.test(l));
  check(unexpected.length === 0, `the server's stderr: ${unexpected.join(' | ')}`);
}

// One request from `localAddress` (a fresh connection): {status, headers, body}, or {status: 0, error}.
function request(port, method, path, { body, localAddress = '127.0.0.1', headers = {} } = {}) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, localAddress, agent: false,
      headers: body ? { 'Content-Type': 'application/json', ...headers } : headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
      res.on('error', (e) => resolve({ status: 0, error: String(e) }));
    });
    req.on('error', (e) => resolve({ status: 0, error: String(e) }));
    if (body) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

// A raw connection: what it received, and when it connected and closed.
function connect(port, localAddress) {
  const c = { data: '', connectedAt: 0, closedAt: 0 };
  c.socket = net.connect({ host: '127.0.0.1', port, localAddress });
  c.socket.setEncoding('latin1');
  c.socket.on('connect', () => (c.connectedAt = Date.now()));
  c.socket.on('data', (d) => (c.data += d));
  c.socket.on('error', () => {});
  c.socket.on('close', () => (c.closedAt = Date.now()));
  return c;
}
const isOpen = (c) => c.connectedAt && !c.closedAt;
const closeAll = (conns) => conns.forEach((c) => c.socket.destroy());

// ---- tests ------------------------------------------------------------------

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const HEADER_S = 5;
const BODY_S = 3;
const IDLE_S = 2;
let main; // the server of the first tests

test('500 slow clients (header bytes trickling from 50 addresses) do not lock out a normal client', async () => {
  main = await startServer(['-m', STORIES, '--header-timeout', `${HEADER_S}s`, '--body-timeout', `${BODY_S}s`,
    '--idle-timeout', `${IDLE_S}s`, '--max-connections-per-client', '10']);
  const slow = [];
  for (let i = 0; i < 500; i++) slow.push(connect(main.port, `127.0.0.${2 + (i % 50)}`));
  check(await until(() => slow.every((c) => c.connectedAt || c.closedAt), 20000), 'the slow clients did not connect');
  slow.forEach((c) => c.socket.write('GET /api/version HTTP/1.1\r\nHost: x\r\nX-Slow: '));
  // A byte every 500 ms: libmicrohttpd's idle timeout (2 s here) never fires, only the header deadline.
  const trickle = setInterval(() => slow.forEach((c) => isOpen(c) && c.socket.write('a')), 500);
  let allClosed;
  try {
    const started = Date.now();
    const version = await request(main.port, 'GET', '/api/version');
    const generated = await request(main.port, 'POST', '/api/generate',
      { body: { model: 'stories260K', prompt: 'Once', stream: false, options: { num_predict: 4 } } });
    const streamed = await request(main.port, 'POST', '/api/generate',
      { body: { model: 'stories260K', prompt: 'Once', options: { num_predict: 4 } } });
    const open = slow.filter(isOpen).length;
    check(version.status === 200 && /version/.test(version.body), `version: ${JSON.stringify(version)}`);
    check(generated.status === 200 && JSON.parse(generated.body).done === true, `generate: ${JSON.stringify(generated)}`);
    check(streamed.status === 200 && /"done":true/.test(streamed.body), `stream: ${JSON.stringify(streamed)}`);
    check(open >= 450, `only ${open} of the slow clients were still connected while the normal one was served`);
    check(Date.now() - started < 20000, 'the normal client waited too long');
    // Every slow client is cut at the header deadline, with a 408, and not before it.
    allClosed = await until(() => slow.every((c) => c.closedAt), (HEADER_S + 20) * 1000, 100);
  } finally {
    clearInterval(trickle);
  }
  const lasted = slow.filter((c) => c.closedAt).map((c) => c.closedAt - c.connectedAt);
  closeAll(slow);
  check(allClosed, `${slow.filter(isOpen).length} slow clients are still connected after the header deadline`);
  const early = lasted.filter((ms) => ms < (HEADER_S - 0.5) * 1000).length;
  check(early === 0, `${early} slow clients were closed before the header deadline`);
  const with408 = slow.filter((c) => c.data.startsWith('HTTP/1.1 408 ')).length;
  check(with408 === slow.length, `only ${with408} of ${slow.length} slow clients got a 408`);
});

test('a body trickling one byte at a time is cut at the body deadline with a 408', async () => {
  const c = connect(main.port, '127.0.0.100');
  check(await until(() => c.connectedAt, 10000), 'no connection');
  c.socket.write('POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
  const headersAt = Date.now();
  const trickle = setInterval(() => isOpen(c) && c.socket.write('{'), 200);
  const closed = await until(() => c.closedAt, (BODY_S + 20) * 1000, 100);
  clearInterval(trickle);
  c.socket.destroy();
  check(closed, 'still connected long after the body deadline');
  check(c.closedAt - headersAt >= (BODY_S - 0.5) * 1000, `closed after ${c.closedAt - headersAt} ms, before the deadline`);
  check(c.data.startsWith('HTTP/1.1 408 '), `answer: ${JSON.stringify(c.data)}`);
});

test('a kept-alive connection is closed after the idle timeout, not before', async () => {
  const c = connect(main.port, '127.0.0.101');
  check(await until(() => c.connectedAt, 10000), 'no connection');
  c.socket.write('GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n');
  check(await until(() => /\r\n\r\n[^]*"version"/.test(c.data), 10000), `no answer: ${JSON.stringify(c.data)}`);
  const answeredAt = Date.now();
  // A second request on the same connection is answered too (keep-alive works).
  c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  check(await until(() => /"status"/.test(c.data), 10000), `no second answer: ${JSON.stringify(c.data)}`);
  const closed = await until(() => c.closedAt, (IDLE_S + 20) * 1000, 20);
  c.socket.destroy();
  check(closed, 'the idle connection was not closed');
  check(c.closedAt - answeredAt >= (IDLE_S - 0.5) * 1000, `closed ${c.closedAt - answeredAt} ms after the answer`);
});

test('the server with slow clients gone still answers and stops cleanly', async () => {
  const r = await request(main.port, 'GET', '/health');
  check(r.status === 200, `health: ${JSON.stringify(r)}`);
  await stopServer(main);
});

test('--max-connections-per-client: connection N+1 from one address is closed; other addresses are served', async () => {
  const s = await startServer(['-m', STORIES, '--max-connections-per-client', '4', '--header-timeout', '60s',
    '--idle-timeout', '60s']);
  try {
    const held = [];
    for (let i = 0; i < 4; i++) held.push(connect(s.port, '127.0.0.70'));
    check(await until(() => held.every((c) => c.connectedAt), 10000), 'the first four did not connect');
    const extra = connect(s.port, '127.0.0.70');
    check(await until(() => extra.closedAt, 10000), 'connection 5 from one address stayed open');
    check(held.every(isOpen), 'the first four were closed');
    const other = await request(s.port, 'GET', '/api/version', { localAddress: '127.0.0.71' });
    check(other.status === 200, `another address: ${JSON.stringify(other)}`);
    // A place freed is a place taken: the same address is served again.
    held[0].socket.destroy();
    const again = await until(async () => {
      const r = await request(s.port, 'GET', '/api/version', { localAddress: '127.0.0.70' });
      return r.status === 200 && r;
    }, 10000);
    check(again, 'the address was not served after one of its connections closed');
    closeAll(held);
  } finally {
    await stopServer(s);
  }
});

test('--max-connections: past the total, a connection waits until a place frees', async () => {
  const s = await startServer(['-m', STORIES, '--max-connections', '16', '--header-timeout', '60s',
    '--idle-timeout', '60s']);
  try {
    const held = [];
    for (let i = 0; i < 16; i++) held.push(connect(s.port, `127.0.0.${80 + (i % 8)}`));
    check(await until(() => held.every((c) => c.connectedAt), 10000), 'the first 16 did not connect');
    // Past the cap the server stops accepting: the request waits in the listen queue, unanswered.
    const extra = connect(s.port, '127.0.0.90');
    extra.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(1000); // an observation window: nothing may arrive in it
    check(extra.data === '', `answered past the cap: ${JSON.stringify(extra.data)}`);
    check(held.every(isOpen), 'a held connection was closed');
    closeAll(held);
    check(await until(() => /"status"/.test(extra.data), 10000), 'not served after places freed');
    extra.socket.destroy();
  } finally {
    await stopServer(s);
  }
});

test('--threads-http: when every handler is busy the answer is 503 with Retry-After; a client that leaves frees its handler', async () => {
  const s = await startServer(['-m', SMOL, '--threads-http', '2', '--parallel', '1', '-c', '4096']);
  const controllers = [new AbortController(), new AbortController()];
  try {
    // Two whole (non-streamed) answers of thousands of tokens (end-of-text banned) hold both handlers.
    const body = { model: 'smol', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4000, stream: false,
      logit_bias: { 0: -100, 1: -100, 2: -100 } };
    const waiting = controllers.map((c) => fetch(`http://127.0.0.1:${s.port}/v1/chat/completions`, { method: 'POST',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal: c.signal })
      .then((r) => r.status, (e) => e.name));
    const busy = await until(async () => {
      const r = await request(s.port, 'GET', '/health');
      return r.status === 503 && r;
    }, 20000, 10);
    check(busy, 'no 503 while both handlers were busy');
    check(busy.headers['retry-after'] === '1', `Retry-After: ${busy.headers['retry-after']}`);
    check(/busy/.test(JSON.parse(busy.body).error), `error: ${busy.body}`);
    // The clients leave: the engine notices (http_client_gone), the handlers finish, and the server answers.
    controllers.forEach((c) => c.abort());
    const ends = await Promise.all(waiting);
    check(ends.every((e) => e === 'AbortError'), `the whole answers ended as ${ends}`);
    const later = await until(async () => {
      const r = await request(s.port, 'GET', '/health');
      return r.status === 200 && r;
    }, 20000);
    check(later, 'not served after the clients left');
  } finally {
    controllers.forEach((c) => c.abort());
    await stopServer(s);
  }
});

// ---- run --------------------------------------------------------------------

let failed = 0;
for (const t of tests) {
  try {
    await t.fn();
    console.log(`ok: ${t.name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL: ${t.name}: ${err instanceof Failure ? err.message : err.stack}`);
  }
}
for (const child of servers) if (child.exitCode === null) child.kill('SIGKILL');
console.log(`${tests.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
