// bench/abuse.mjs — abuses a running `tinyllm serve` from loopback addresses
// only, with node's net and http modules (no npm packages), while a normal
// client keeps asking; reports the server's RSS, open descriptors and threads
// (from /proc/PID) before, during (peak) and after each phase, and the normal
// client's latency (p50/p99) and failures per phase.
//
//   node bench/abuse.mjs --url http://127.0.0.1:PORT --pid PID --model NAME [--slow 1000] [--drops 10000]
//
// Phases, bounded in count and time: slow clients (headers trickled a byte a
// second from 127.0.1.x), connect-and-drop, malformed HTTP, JSON bombs; then
// a settle poll and the memory check (RSS back within 10% of before); then
// the template bombs last (they crash or eat memory on some builds), each
// reported with whether the server survived. Ends with PASS/FAIL lines; the
// exit code is 1 if any FAIL.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) =>
  (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const url = new URL(args.url || '');
const PORT = Number(url.port);
const PID = Number(args.pid);
const MODEL = args.model || 'stories260K';
const N_SLOW = Number(args.slow || 1000);
const N_DROPS = Number(args.drops || 10000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const results = [];
const verdict = (ok, what) => results.push(`${ok ? 'PASS' : 'FAIL'}: ${what}`);

// ---- the server's footprint ------------------------------------------------

function footprint() {
  try {
    const status = fs.readFileSync(`/proc/${PID}/status`, 'utf8');
    const rss = Number(status.match(/^VmRSS:\s+(\d+)/m)[1]) / 1024;
    const threads = Number(status.match(/^Threads:\s+(\d+)/m)[1]);
    const fds = fs.readdirSync(`/proc/${PID}/fd`).length;
    return { rss, fds, threads, alive: true };
  } catch {
    return { rss: 0, fds: 0, threads: 0, alive: false };
  }
}
const show = (f) => (f.alive ? `RSS ${f.rss.toFixed(1)} MB, ${f.fds} fds, ${f.threads} threads` : 'server gone');
// Samples the footprint every 100 ms while `work` runs; returns the work's result and the peak.
async function sampled(work) {
  const peak = footprint();
  const timer = setInterval(() => {
    const f = footprint();
    peak.rss = Math.max(peak.rss, f.rss);
    peak.fds = Math.max(peak.fds, f.fds);
    peak.threads = Math.max(peak.threads, f.threads);
    peak.alive &&= f.alive;
  }, 100);
  try {
    return { result: await work(), peak };
  } finally {
    clearInterval(timer);
  }
}

// ---- requests ----------------------------------------------------------------

// One request on a fresh connection: {status, body, ms} or {status: 0, error, ms}.
function request(method, path, { body, localAddress = '127.0.0.1', timeoutMs = 30000, headers = {} } = {}) {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (r) => resolve({ ...r, ms: performance.now() - started });
    const req = http.request({ host: '127.0.0.1', port: PORT, method, path, localAddress, agent: false,
      headers: body !== undefined ? { 'Content-Type': 'application/json', ...headers } : headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data.length < 4096 ? (data += d) : null));
      res.on('end', () => done({ status: res.statusCode, body: data }));
      res.on('error', (e) => done({ status: 0, error: e.code || String(e) }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => done({ status: 0, error: e.code || e.message }));
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

// Raw bytes on one connection; resolves with the first line the server sent (or how it ended).
function raw(bytes, { localAddress = '127.0.0.1', waitMs = 5000 } = {}) {
  return new Promise((resolve) => {
    let data = '';
    let settled = false;
    const s = net.connect({ host: '127.0.0.1', port: PORT, localAddress });
    const finish = (what) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => finish(data ? data.split('\r\n')[0] : `no answer in ${waitMs} ms`), waitMs);
    s.setEncoding('latin1');
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => {
      data += d;
      if (data.includes('\r\n')) finish(data.split('\r\n')[0]);
    });
    s.on('error', (e) => finish(data ? data.split('\r\n')[0] : e.code || e.message));
    s.on('close', () => finish(data ? data.split('\r\n')[0] : 'closed without an answer'));
  });
}

const tally = (list) => Object.entries(list.reduce((m, k) => ((m[k] = (m[k] || 0) + 1), m), {}))
  .map(([k, n]) => `${n}x ${k}`).join(', ');

// ---- the normal client ---------------------------------------------------------

// Asks in a loop (a short generation, then /health) and records latencies until stopped.
function normalClient() {
  const state = { latencies: [], failures: [], stop: false };
  state.done = (async () => {
    for (let i = 0; !state.stop; i++) {
      const r = i % 2 === 0
        ? await request('POST', '/api/generate', { body: { model: MODEL, prompt: 'Once', stream: false,
          options: { num_predict: 8 } }, timeoutMs: 20000 })
        : await request('GET', '/health', { timeoutMs: 20000 });
      if (r.status === 200) state.latencies.push(r.ms);
      else state.failures.push(r.status ? `HTTP ${r.status}` : r.error);
      await sleep(20);
    }
  })();
  return state;
}
function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}
// Runs one phase with the normal client asking throughout; prints the report line.
async function phase(name, work) {
  const client = normalClient();
  const before = footprint();
  const { result, peak } = await sampled(work);
  client.stop = true;
  await client.done;
  const after = footprint();
  const sorted = client.latencies.sort((a, b) => a - b);
  console.log(`\n== ${name}`);
  if (result) console.log(`   ${result}`);
  console.log(`   before: ${show(before)} | peak: ${show(peak)} | after: ${show(after)}`);
  console.log(`   normal client: ${sorted.length} answers, p50 ${percentile(sorted, 50).toFixed(1)} ms, ` +
    `p99 ${percentile(sorted, 99).toFixed(1)} ms, ${client.failures.length} failures` +
    (client.failures.length ? ` (${tally(client.failures.slice(0, 50))})` : ''));
  return { before, peak, after, client, alive: after.alive };
}

// ---- phases ------------------------------------------------------------------

async function slowClients() {
  const conns = [];
  const opened = Date.now();
  for (let i = 0; i < N_SLOW; i++) {
    const c = { data: '', connectedAt: 0, closedAt: 0 };
    // 100 addresses, 10 each: under the per-client cap, so only the deadlines can stop them.
    c.socket = net.connect({ host: '127.0.0.1', port: PORT, localAddress: `127.0.1.${1 + (i % 100)}` });
    c.socket.setEncoding('latin1');
    c.socket.on('connect', () => {
      c.connectedAt = Date.now();
      c.socket.write('POST /api/generate HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    });
    c.socket.on('data', (d) => (c.data += d));
    c.socket.on('error', () => {});
    c.socket.on('close', () => (c.closedAt = Date.now()));
    conns.push(c);
  }
  const trickle = setInterval(() => conns.forEach((c) => c.connectedAt && !c.closedAt && c.socket.write('a')), 1000);
  // Held until the server's header deadline cuts them (at most 60 s).
  let maxOpen = 0;
  for (const end = Date.now() + 60000; Date.now() < end; await sleep(200)) {
    const open = conns.filter((c) => c.connectedAt && !c.closedAt).length;
    maxOpen = Math.max(maxOpen, open);
    if (Date.now() - opened > 3000 && open === 0) break;
  }
  clearInterval(trickle);
  conns.forEach((c) => c.socket.destroy());
  const lasted = conns.filter((c) => c.closedAt && c.connectedAt).map((c) => (c.closedAt - c.connectedAt) / 1000)
    .sort((a, b) => a - b);
  const with408 = conns.filter((c) => c.data.startsWith('HTTP/1.1 408')).length;
  return `${N_SLOW} slow clients: at most ${maxOpen} open at once; ${with408} got 408; held for ` +
    `${percentile(lasted, 0).toFixed(1)}..${percentile(lasted, 100).toFixed(1)} s (median ${percentile(lasted, 50).toFixed(1)} s)`;
}

async function connectAndDrop() {
  let done = 0;
  let errors = 0;
  const started = Date.now();
  const one = (i) => new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: PORT, localAddress: `127.0.2.${1 + (i % 200)}` });
    s.on('connect', () => {
      if (i % 3 === 1) s.write('GET /health HTTP/1.1\r\n'); // half a request
      if (i % 3 === 2) s.resetAndDestroy?.() ?? s.destroy(); // a reset
      else s.destroy();
    });
    s.on('error', () => errors++);
    s.on('close', () => { done++; resolve(); });
  });
  for (let i = 0; i < N_DROPS; i += 200) await Promise.all(Array.from({ length: Math.min(200, N_DROPS - i) }, (_, k) => one(i + k)));
  return `${done} connect-and-drop (a third with half a request, a third reset) in ${((Date.now() - started) / 1000).toFixed(1)} s, ${errors} client errors`;
}

async function malformed() {
  const cases = {
    'garbage request line': 'GARBAGE\r\n\r\n',
    'binary noise': Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256)).toString('latin1') + '\r\n\r\n',
    'unknown HTTP version': 'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
    'request line of 100 KB': `GET /${'a'.repeat(100000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    'header of 100 KB': `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100000)}\r\n\r\n`,
    '5000 headers': `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 5000 }, (_, i) => `X-${i}: v`).join('\r\n')}\r\n\r\n`,
    'bad chunk size': 'POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n',
    'huge chunk size': 'POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nabc\r\n',
    'chunked and Content-Length': 'POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'Content-Length too short': 'POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{"model":"x"}',
    'Content-Length too long (body never ends)': 'POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{}',
    'Content-Length negative': 'POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}',
    'Content-Length not a number': 'POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}',
    'no Host (HTTP/1.1)': 'GET /health HTTP/1.1\r\n\r\n',
  };
  const lines = [];
  let k = 0;
  for (const [name, bytes] of Object.entries(cases)) {
    // 20 of each at once, from their own address.
    const answers = await Promise.all(Array.from({ length: 20 }, () =>
      raw(bytes, { localAddress: `127.0.3.${1 + (k % 250)}`, waitMs: 3000 })));
    k++;
    lines.push(`   ${name}: ${tally(answers.map((a) => a.replace(/^(HTTP\/1\.[01] \d+).*/, '$1')))}`);
  }
  return `20 each of ${Object.keys(cases).length} malformed requests:\n${lines.join('\n')}`;
}

async function jsonBombs() {
  const deep = (n) => '['.repeat(n) + ']'.repeat(n);
  const manyKeys = (bytes) => {
    const parts = [];
    let size = 2;
    for (let i = 0; size < bytes; i++) {
      const p = `"k${i}":${i}`;
      parts.push(p);
      size += p.length + 1;
    }
    return `{${parts.join(',')}}`;
  };
  const cases = [
    ['nested arrays 100000 deep (whole body)', '/api/chat', deep(100000)],
    ['nested arrays 100000 deep (in messages)', '/api/chat', `{"model":"${MODEL}","messages":${deep(100000)}}`],
    ['nested objects 50000 deep', '/v1/chat/completions', '{"a":'.repeat(50000) + '1' + '}'.repeat(50000)],
    ['10 MB of keys (over --body-limit)', '/api/chat', manyKeys(10 << 20)],
    ['7.5 MB of keys (under it)', '/api/chat', manyKeys(7.5 * (1 << 20))],
    ['a 7 MB prompt string', '/api/generate', JSON.stringify({ model: MODEL, prompt: 'a '.repeat(3.5 * (1 << 20)),
      stream: false, options: { num_predict: 1 } })],
    ['a 7 MB model name', '/api/generate', JSON.stringify({ model: 'm'.repeat(7 << 20), prompt: 'x' })],
    ['100000 messages', '/api/chat', JSON.stringify({ model: MODEL, stream: false, options: { num_predict: 1 },
      messages: Array.from({ length: 100000 }, () => ({ role: 'user', content: 'hi' })) })],
  ];
  const lines = [];
  for (const [name, path, body] of cases) {
    const answers = await Promise.all(Array.from({ length: 3 }, () => request('POST', path, { body, timeoutMs: 60000 })));
    lines.push(`   ${name}: ${tally(answers.map((a) => (a.status ? `HTTP ${a.status}` : a.error)))}, ` +
      `slowest ${Math.max(...answers.map((a) => a.ms)).toFixed(0)} ms` +
      (answers[0].body ? ` (${answers[0].body.slice(0, 90).replace(/\s+/g, ' ')})` : ''));
  }
  return `3 each of ${cases.length} JSON bombs:\n${lines.join('\n')}`;
}

async function templateBomb(name, template, timeoutMs) {
  const r = await request('POST', '/api/generate', { body: { model: MODEL, prompt: 'x', template, stream: false,
    options: { num_predict: 1 } }, timeoutMs });
  return `${name}: ${r.status ? `HTTP ${r.status}` : r.error} after ${r.ms.toFixed(0)} ms` +
    (r.body ? ` (${r.body.slice(0, 100)})` : '');
}

// ---- run ---------------------------------------------------------------------

console.log(`abuse of ${url.origin} (pid ${PID}), model ${MODEL}`);
const warm = await request('POST', '/api/generate', { body: { model: MODEL, prompt: 'Once', stream: false,
  options: { num_predict: 8 } } });
if (warm.status !== 200) {
  console.log(`FAIL: the warm-up request: ${JSON.stringify(warm)}`);
  process.exit(1);
}
for (let i = 0; i < 20; i++) await request('GET', '/health');
await sleep(1000);
const start = footprint();
console.log(`before: ${show(start)}`);

const phases = [];
phases.push(['slow clients', await phase(`${N_SLOW} slow clients`, slowClients)]);
phases.push(['connect-and-drop', await phase(`${N_DROPS} connect-and-drop`, connectAndDrop)]);
phases.push(['malformed HTTP', await phase('malformed HTTP', malformed)]);
phases.push(['JSON bombs', await phase('JSON bombs', jsonBombs)]);

// Settle: the server lets go of what the abuse took (threads end after 5 s idle).
let settled = footprint();
for (const end = Date.now() + 60000; Date.now() < end && settled.alive; await sleep(500)) {
  settled = footprint();
  if (settled.rss <= start.rss * 1.1 && settled.fds <= start.fds + 2) break;
}
console.log(`\nafter settling: ${show(settled)} (before: ${show(start)})`);
for (const [name, p] of phases) {
  verdict(p.alive, `the server survived ${name}`);
  verdict(p.client.failures.length === 0, `the normal client was always served during ${name}` +
    ` (p99 ${percentile(p.client.latencies, 99).toFixed(1)} ms)`);
}
verdict(settled.alive && settled.rss <= start.rss * 1.1,
  `RSS back within 10%: ${settled.rss.toFixed(1)} MB after, ${start.rss.toFixed(1)} MB before`);
verdict(settled.alive && settled.fds <= start.fds + 2, `open descriptors back: ${settled.fds} after, ${start.fds} before`);

// Template bombs last: each is reported, with whether the server survived it.
// Bounded so that they cannot take the whole machine: the doubled string ends at 256 MiB, and the client
// gives up on the loops (10^9 iterations) after 10 s (the server may go on until it is stopped). The sum,
// which overflowed the parser's stack on some builds, goes last.
const bombs = [
  ['a string doubled 27 times (namespace)', "{% set ns = namespace(s='ab') %}{% for i in range(27) %}" +
    '{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}', 30000],
  ['range(1000) loops nested 3 deep', '{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}x' +
    '{% endfor %}{% endfor %}{% endfor %}', 10000],
  ['a sum of 15000 terms', `{{ ${Array(15000).fill('1').join(' + ')} }}`, 30000],
];
for (const [name, template, timeoutMs] of bombs) {
  if (!footprint().alive) {
    console.log(`\n== template bomb: ${name}: not run, the server is gone`);
    continue;
  }
  const p = await phase(`template bomb: ${name}`, () => templateBomb(name, template, timeoutMs));
  verdict(p.alive, `the server survived the template bomb "${name}"`);
}
console.log('');
for (const line of results) console.log(line);
process.exit(results.some((l) => l.startsWith('FAIL')) ? 1 : 0);
