// SPEC 6 REST routes through Node's fetch: bodies, status codes, the error shape, 401 without
// a token, and that a REST change reaches the WebSocket side the same way a frame does.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Host, ids } from './lib/host.mjs';
import { assertPresence, assertSelf, withClients } from './lib/shapes.mjs';

let host;
before(async () => {
  host = await Host.start();
});
after(async () => {
  await host?.stop();
});

function assertErrorBody(r, status, code) {
  assert.equal(r.status, status, `HTTP status for ${code}: ${r.status} ${r.text}`);
  assert.ok(r.json && typeof r.json.error === 'object', `error body shape: ${r.text}`);
  assert.equal(typeof r.json.error.message, 'string');
  if (code) assert.equal(r.json.error.code, code, r.text);
}

const AUTHED_ROUTES = [
  ['GET', '/me'],
  ['PUT', '/status', { status: 'away' }],
  ['GET', '/users/someone'],
  ['POST', '/query', { user_ids: ['someone'] }],
  ['GET', '/friends'],
  ['GET', '/visibility'],
  ['PUT', '/visibility', { user_ids: [] }],
  ['PUT', '/visibility/someone'],
  ['DELETE', '/visibility/someone'],
  // SPEC 6 marks only GET /health "no auth"; everything else is 401 without a user (and
  // /metrics without the admin token).
  ['GET', '/metrics'],
];

describe('REST API (SPEC 6)', () => {
  for (const [method, path, body, disagreement] of AUTHED_ROUTES) {
    const mark = disagreement ? ` [${disagreement}]` : '';
    test(`${method} ${path} without a token is 401 with an error body${mark}`, async () => {
      assertErrorBody(await host.api(method, path, null, body), 401);
      // A token signed with another secret is no user either.
      assertErrorBody(await host.http(method, '/api/presence' + path, 'not.a.valid-token', body), 401);
    });
  }

  test('GET /health needs no token and reports status, db, redis, instance, connections', async () => {
    const [A] = ids('health');
    await withClients(host, async (open) => {
      await open(A);
      const r = await host.api('GET', '/health', null);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(Object.keys(r.json).sort(), ['connections', 'db', 'instance', 'redis', 'status']);
      assert.ok(['ok', 'degraded'].includes(r.json.status));
      assert.ok(Number.isInteger(r.json.connections) && r.json.connections >= 1, `our socket is counted: ${r.text}`);
    });
  });

  test('GET /me answers <self>; PUT /status answers <self>, reaches every device and friends', async () => {
    const [A, F] = ids('meA', 'meF');
    await host.friendship('add', A, F);
    await withClients(host, async (open) => {
      const f = await open(F);
      const a = await open(A);
      await f.presenceOf(A);
      const me = await host.api('GET', '/me', A);
      assert.equal(me.status, 200);
      assertSelf(me.json, { user_id: A, status: 'online', message: null, until: null, visibility: [], connections: 1 });
      const until = Date.now() + 3600000;
      const put = await host.api('PUT', '/status', A, { status: 'dnd', message: 'rest', until });
      assert.equal(put.status, 200, put.text);
      assertSelf(put.json, { user_id: A, status: 'dnd', message: 'rest', until });
      assertSelf(await a.nextSelf(), { status: 'dnd', message: 'rest', until });
      assertPresence(await f.presenceOf(A), { status: 'dnd', message: 'rest' });
      const keep = await host.api('PUT', '/status', A, { status: 'away' });
      assertSelf(keep.json, { status: 'away', message: 'rest', until: null }, 'absent message keeps it');
      const clear = await host.api('PUT', '/status', A, { status: 'away', message: null });
      assertSelf(clear.json, { status: 'away', message: null }, 'null clears it');
    });
  });

  test('PUT /status rejects bad input with 400 bad_json and 422 invalid_status', async () => {
    const [A] = ids('psA');
    assertErrorBody(await host.api('PUT', '/status', A, '{"status":'), 400, 'bad_json');
    assertErrorBody(await host.api('PUT', '/status', A, { status: 'sleeping' }), 422, 'invalid_status');
    assertErrorBody(await host.api('PUT', '/status', A, { status: 'offline' }), 422, 'invalid_status');
    assertSelf((await host.api('GET', '/me', A)).json, { status: 'online' });
  });

  test('GET /users/{id}: a friend as seen, a non-friend and an unknown id alike; a malformed id is rejected', async () => {
    const [A, F, N] = ids('guA', 'guF', 'guN');
    await host.friendship('add', A, F);
    await withClients(host, async (open) => {
      await open(F);
      await open(N);
      const f = await host.api('GET', `/users/${F}`, A);
      assert.equal(f.status, 200);
      assertPresence(f.json, { user_id: F, status: 'online' });
      const n = await host.api('GET', `/users/${N}`, A);
      assertPresence(n.json, { user_id: N, status: 'offline', message: null, last_seen: null });
      const self = await host.api('GET', `/users/${A}`, A);
      assert.equal(self.status, 200);
      const bad = await host.api('GET', `/users/${encodeURIComponent('bad id!')}`, A);
      assert.ok([400, 404, 422].includes(bad.status), `malformed id: ${bad.status} ${bad.text}`);
      assertErrorBody(bad, bad.status);
    });
  });

  test('POST /query: order kept, duplicates removed; more than max_batch ids is too_many', async () => {
    const [A, F, G] = ids('pqA', 'pqF', 'pqG');
    await host.friendship('add', A, F);
    await host.friendship('add', A, G);
    await withClients(host, async (open) => {
      await open(G);
      const r = await host.api('POST', '/query', A, { user_ids: [G, F, G, 'zz', F] });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(Object.keys(r.json), ['users']);
      assert.deepEqual(r.json.users.map((u) => u.user_id), [G, F, 'zz']);
      assertPresence(r.json.users[0], { status: 'online' });
      assertPresence(r.json.users[1], { status: 'offline' });
      const many = await host.api('POST', '/query', A, { user_ids: Array.from({ length: 501 }, (_, i) => `id${i}`) });
      assert.ok([400, 413, 422].includes(many.status), `too many ids: ${many.status}`);
      assertErrorBody(many, many.status, 'too_many');
      assertErrorBody(await host.api('POST', '/query', A, 'not json'), 400, 'bad_json');
    });
  });

  test('GET /friends lists every friend as this viewer sees them', async () => {
    const [A, F, G, H] = ids('frA', 'frF', 'frG', 'frH');
    await host.friendship('add', A, F);
    await host.friendship('add', A, G);
    await withClients(host, async (open) => {
      const g = await open(G);
      await g.request({ type: 'presence_update', status: 'away', message: 'tea' });
      await open(H); // not a friend: must not be listed
      const r = await host.api('GET', '/friends', A);
      assert.equal(r.status, 200, r.text);
      const byId = Object.fromEntries(r.json.users.map((u) => [u.user_id, u]));
      assert.deepEqual(Object.keys(byId).sort(), [F, G].sort());
      assertPresence(byId[F], { status: 'offline' });
      assertPresence(byId[G], { status: 'away', message: 'tea' });
    });
  });

  test('visibility routes: GET, PUT (replace), PUT/DELETE one', async () => {
    const [A, F, G] = ids('vrA', 'vrF', 'vrG');
    await host.friendship('add', A, F);
    await host.friendship('add', A, G);
    assert.deepEqual((await host.api('GET', '/visibility', A)).json, { user_ids: [] });
    const put = await host.api('PUT', '/visibility', A, { user_ids: [F, G] });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual([...(await host.api('GET', '/visibility', A)).json.user_ids].sort(), [F, G].sort());
    const rep = await host.api('PUT', '/visibility', A, { user_ids: [G] });
    assert.equal(rep.status, 200);
    assert.deepEqual((await host.api('GET', '/visibility', A)).json, { user_ids: [G] }, 'PUT replaces the list');
    const add = await host.api('PUT', `/visibility/${F}`, A);
    assert.ok(add.status >= 200 && add.status < 300, add.text);
    assert.deepEqual([...(await host.api('GET', '/visibility', A)).json.user_ids].sort(), [F, G].sort());
    const del = await host.api('DELETE', `/visibility/${G}`, A);
    assert.ok(del.status >= 200 && del.status < 300, del.text);
    assert.deepEqual((await host.api('GET', '/visibility', A)).json, { user_ids: [F] });
    assertSelf((await host.api('GET', '/me', A)).json, { visibility: [F] });
  });

  test('GET /metrics is Prometheus text with connections, online users, frames, a fan-out histogram, queue depth and errors by code', async () => {
    const [A] = ids('metA');
    await withClients(host, async (open) => {
      const a = await open(A);
      a.send({ type: 'no_such_type' });
      await a.next((f) => f.type === 'error', 'error');
      // SPEC 6: operators only. A user's token is refused; the admin token reads them.
      assertErrorBody(await host.api('GET', '/metrics', A), 401);
      const r = await host.http('GET', '/api/presence/metrics', host.adminToken);
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      const t = r.text;
      assert.match(t, /^# TYPE \S+ (counter|gauge|histogram)$/m, 'Prometheus exposition format');
      assert.match(t, /^\S*connections\S* \d+/m, 'connections');
      assert.match(t, /^\S*online\S* \d+/m, 'online users');
      assert.match(t, /^\S*frames_in\S* \d+/m, 'frames in');
      assert.match(t, /^\S*frames_out\S* \d+/m, 'frames out');
      assert.match(t, /^\S*fanout\S*_bucket\{le="[^"]+"\} \d+/m, 'fan-out latency histogram');
      assert.match(t, /^\S*queue\S* \d+/m, 'store queue depth');
      assert.match(t, /^\S*error\S*\{[^}]*code="unknown_type"[^}]*\} [1-9]\d*/m, 'errors by code');
    });
  });

  test('an unknown route is 404, a wrong method is 405, a body over max_message_bytes is 413', async () => {
    const [A] = ids('miscA');
    assertErrorBody(await host.api('GET', '/no/such/route', A), 404);
    assertErrorBody(await host.api('DELETE', '/me', A), 405);
    assertErrorBody(await host.api('POST', '/query', A, JSON.stringify({ user_ids: ['a'], pad: 'x'.repeat(70000) })), 413, 'too_large');
  });
});
