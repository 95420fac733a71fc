// mock_hub.mjs — a local stand-in for the Hugging Face Hub, for the pull
// tests (tests/cli/test_pull.sh). No npm packages.
//
//   node mock_hub.mjs CONFIG.json
//
// listens on 127.0.0.1 on a free port and prints "listening PORT". CONFIG:
//   { "log": "requests.jsonl",           every request, one JSON line each
//     "token": "hf_good",                the token gated repositories accept
//     "page_size": 2,                    files per page of the tree listing
//     "repos": { "ORG/REPO": { "files": { "PATH": "/file/on/disk" , ... },
//                              "gated": true,        401 without the token, 403 with another
//                              "drop_after": 50000,  the CDN closes the first transfer of each
//                                                    file after that many bytes (once)
//                              "corrupt": true,      the CDN serves one byte changed
//                              "slow_ms": 20,        the CDN sends 16 KB every slow_ms
//                              "no_lfs_in_tree": true } } }  the tree listing leaves out "lfs" (the
//                                                    sha256 is then only in X-Linked-Etag)
//
// The endpoints answer as the Hub does: GET /api/models/{repo}[/revision/{rev}]
// (id, sha, siblings, gated), GET /api/models/{repo}/tree/{rev}?recursive=true
// (type, oid, size, path, lfs {oid = sha256, size, pointerSize}; pages linked
// by a Link: <...>; rel="next" header), GET /{repo}/resolve/{rev}/{path}
// (files over 100 bytes are "LFS": a 302 to /cdn/{sha256} on the host name
// "localhost" — another host than the 127.0.0.1 the client was given — with
// X-Repo-Commit, X-Linked-Etag, X-Linked-Size and ETag; small files are
// served directly), and /cdn/ serves Range requests (206 with Content-Range,
// 416 past the end). Errors carry X-Error-Code (RepoNotFound,
// RevisionNotFound, EntryNotFound, GatedRepo) and a JSON {"error": ...}.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const pageSize = config.page_size || 2;
const repos = new Map();
const blobs = new Map(); // sha256 -> { data, repo }
for (const [id, spec] of Object.entries(config.repos)) {
  const files = [];
  for (const [path, source] of Object.entries(spec.files)) {
    const data = fs.readFileSync(source);
    const sha256 = crypto.createHash('sha256').update(data).digest('hex');
    const oid = crypto.createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
    files.push({ path, data, sha256, oid, lfs: data.length > 100 });
    blobs.set(`${id}:${sha256}`, { data, repo: spec });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  const sha = crypto.createHash('sha1').update(id + files.map((f) => f.path + f.sha256).join()).digest('hex');
  repos.set(id, { ...spec, id, files, sha });
}
const dropped = new Set();

function log(entry) {
  if (config.log) fs.appendFileSync(config.log, JSON.stringify(entry) + '\n');
}

function error(res, status, code, message, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code, ...headers });
  res.end(JSON.stringify({ error: message }));
}

function json(res, value, headers = {}) {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

// Who may read a gated repository: null when allowed, else the status.
function gate(repo, req) {
  if (!repo.gated) return null;
  const auth = req.headers.authorization || '';
  if (!auth) return 401;
  return auth === `Bearer ${config.token}` ? null : 403;
}

function refuse(res, repo, status) {
  const message = status === 401
    ? `Access to model ${repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`
    : `Access to model ${repo.id} is restricted and you are not in the authorized list.`;
  error(res, status, 'GatedRepo', message);
}

function repoInfo(repo) {
  return {
    _id: repo.sha.slice(0, 24), id: repo.id, modelId: repo.id, author: repo.id.split('/')[0], sha: repo.sha,
    lastModified: '2026-12-01T00:00:00.000Z', private: false, disabled: false, gated: repo.gated ? 'manual' : false,
    tags: ['gguf'], library_name: 'gguf', siblings: repo.files.map((f) => ({ rfilename: f.path })),
  };
}

function treeEntries(repo) {
  const entries = [];
  const dirs = new Set();
  for (const f of repo.files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) {
        dirs.add(dir);
        entries.push({ type: 'directory', oid: crypto.createHash('sha1').update(dir).digest('hex'), size: 0, path: dir });
      }
    }
    const entry = { type: 'file', oid: f.oid, size: f.data.length, path: f.path };
    if (f.lfs && !repo.no_lfs_in_tree) entry.lfs = { oid: f.sha256, size: f.data.length, pointerSize: 134 };
    entries.push(entry);
  }
  return entries;
}

function serveCdn(req, res, url) {
  const sha = url.pathname.slice('/cdn/'.length);
  const blob = blobs.get(`${url.searchParams.get('repo')}:${sha}`);
  if (!blob) return error(res, 404, 'EntryNotFound', 'no such object');
  let data = blob.data;
  if (blob.repo.corrupt) {
    data = Buffer.from(data);
    data[data.length >> 1] ^= 0x55;
  }
  const total = data.length;
  let start = 0;
  let end = total - 1;
  let status = 200;
  const headers = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes', ETag: `"${sha}"` };
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d+)-(\d*)$/.exec(range);
    if (!m) return error(res, 416, 'RangeNotSatisfiable', 'bad range', { 'Content-Range': `bytes */${total}` });
    start = Number(m[1]);
    if (m[2]) end = Math.min(Number(m[2]), total - 1);
    if (start >= total || start > end) {
      return error(res, 416, 'RangeNotSatisfiable', 'range not satisfiable', { 'Content-Range': `bytes */${total}` });
    }
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${total}`;
  }
  headers['Content-Length'] = end - start + 1;
  res.writeHead(status, headers);
  let body = data.subarray(start, end + 1);
  const key = `${url.searchParams.get('repo')}:${sha}`;
  if (blob.repo.drop_after && !dropped.has(key)) {
    dropped.add(key);
    const cut = Math.max(0, blob.repo.drop_after - start);
    res.write(body.subarray(0, cut), () => setTimeout(() => res.socket.destroy(), 20));
    return;
  }
  if (blob.repo.slow_ms) {
    const step = () => {
      if (body.length === 0) return res.end();
      const chunk = body.subarray(0, 16384);
      body = body.subarray(chunk.length);
      res.write(chunk);
      setTimeout(step, blob.repo.slow_ms);
    };
    return step();
  }
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://mock');
  log({ method: req.method, path: url.pathname + url.search, host: req.headers.host || '', range: req.headers.range || null,
    auth: req.headers.authorization || null });
  if (req.method !== 'GET' && req.method !== 'HEAD') return error(res, 405, 'MethodNotAllowed', 'GET only');
  if (url.pathname.startsWith('/cdn/')) return serveCdn(req, res, url);
  let m = /^\/api\/models\/([^/]+\/[^/]+)(?:\/revision\/([^/]+))?$/.exec(url.pathname);
  if (m) {
    const repo = repos.get(m[1]);
    if (!repo) return error(res, 404, 'RepoNotFound', 'Repository not found');
    if (m[2] && m[2] !== 'main' && m[2] !== repo.sha) return error(res, 404, 'RevisionNotFound', 'Invalid rev id');
    return json(res, repoInfo(repo));
  }
  m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
  if (m) {
    const repo = repos.get(m[1]);
    if (!repo) return error(res, 404, 'RepoNotFound', 'Repository not found');
    if (m[2] !== 'main' && m[2] !== repo.sha) return error(res, 404, 'RevisionNotFound', 'Invalid rev id');
    const all = treeEntries(repo).filter((e) => url.searchParams.get('recursive') === 'true' || !e.path.includes('/'));
    const cursor = Number(url.searchParams.get('cursor') || 0);
    const page = all.slice(cursor, cursor + pageSize);
    const headers = {};
    if (cursor + pageSize < all.length) {
      const next = new URL(`http://${req.headers.host}${url.pathname}`);
      next.searchParams.set('recursive', url.searchParams.get('recursive') || 'false');
      next.searchParams.set('cursor', String(cursor + pageSize));
      headers.Link = `<${next}>; rel="next"`;
    }
    return json(res, page, headers);
  }
  m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (m) {
    const repo = repos.get(m[1]);
    if (!repo) return error(res, 404, 'RepoNotFound', 'Repository not found');
    if (m[2] !== 'main' && m[2] !== repo.sha) return error(res, 404, 'RevisionNotFound', 'Invalid rev id');
    const denied = gate(repo, req);
    if (denied) return refuse(res, repo, denied);
    const path = decodeURIComponent(m[3]);
    const file = repo.files.find((f) => f.path === path);
    if (!file) return error(res, 404, 'EntryNotFound', `${path} does not exist on "${m[2]}"`);
    const headers = { 'X-Repo-Commit': repo.sha, ETag: `"${file.lfs ? file.sha256 : file.oid}"` };
    if (!file.lfs) {
      res.writeHead(200, { ...headers, 'Content-Length': file.data.length });
      return res.end(file.data);
    }
    const port = server.address().port;
    res.writeHead(302, {
      ...headers, 'X-Linked-Etag': `"${file.sha256}"`, 'X-Linked-Size': String(file.data.length),
      Location: `http://localhost:${port}/cdn/${file.sha256}?repo=${encodeURIComponent(repo.id)}`,
      'Content-Length': 0,
    });
    return res.end();
  }
  error(res, 404, 'EntryNotFound', 'not found');
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
