// harness.mjs — what the HTTP tests of tests/server share: a list of named
// async tests, check/equal assertions, a JSON request, and the runner that
// prints "ok: NAME" / "FAIL: NAME: why" and exits 1 on any failure.

const tests = [];
export const test = (name, fn) => tests.push({ name, fn });
export class Failure extends Error {}
export function check(cond, message) {
  if (!cond) throw new Failure(message);
}
export function equal(actual, expected, what) {
  check(actual === expected, `${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

// A request with a JSON body (strings are sent as they are): {status, json (null if the answer is not JSON), text}.
export async function request(method, url, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text), text };
  } catch {
    return { status: res.status, json: null, text };
  }
}

export async function runTests() {
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
  console.log(`${tests.length - failed}/${tests.length} passed`);
  process.exit(failed ? 1 : 0);
}
