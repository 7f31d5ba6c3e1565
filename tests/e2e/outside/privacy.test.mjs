// SPEC 4 (who sees what) over the wire. Silence is always proven by a heartbeat round trip on
// the same socket after a short wait (Client.assertSilent).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Host, ids, sleep } from './lib/host.mjs';
import { assertPresence, assertSelf, withClients } from './lib/shapes.mjs';

let host;
before(async () => {
  host = await Host.start();
});
after(async () => {
  await host?.stop();
});

async function friends(...pairs) {
  for (const [a, b] of pairs) await host.friendship('add', a, b);
}

const stripId = ({ user_id: _u, ...rest }) => rest;

describe('Privacy (SPEC 4)', () => {
  test('4.1 a non-friend is offline with last_seen null, the same as an unknown id, and never an event', async () => {
    const [A, N, F] = ids('nfA', 'nfN', 'nfF');
    await friends([N, F]); // N has a friend, just not A
    await withClients(host, async (open) => {
      const a = await open(A);
      const n = await open(N);
      await n.request({ type: 'presence_update', status: 'away', message: 'secret' });
      await n.heartbeat(true);
      const ghost = 'never-existed-' + N;
      const r = await a.request({ type: 'presence_query', user_ids: [N, ghost] });
      assert.equal(r.type, 'presence_result');
      assertPresence(r.users[0], { user_id: N, status: 'offline', message: null, last_seen: null });
      assert.deepEqual(stripId(r.users[0]), stripId(r.users[1]), 'non-friend answer equals unknown-id answer');
      for (const id of [N, ghost]) {
        const g = await host.api('GET', `/users/${id}`, A);
        assert.equal(g.status, 200, `GET /users/${id}: ${g.text}`);
        assertPresence(g.json, { user_id: id, status: 'offline', message: null, last_seen: null });
      }
      const q = await host.api('POST', '/query', A, { user_ids: [N, ghost] });
      assert.equal(q.status, 200);
      assert.deepEqual(stripId(q.json.users[0]), stripId(q.json.users[1]));
      assert.equal(a.snapshot.friends.length, 0);
      await n.request({ type: 'presence_update', status: 'dnd', message: 'edit' });
      await n.close();
      await sleep(1200); // past the grace: N is offline now
      await a.assertSilent('a non-friend connected, edited, went idle and offline');
    });
  });

  test('4.2/4.3 invisible: unlisted friends get no frame for connect, heartbeat or message edit; listed friends see online with the message', async () => {
    const [B, L, U] = ids('invB', 'invListed', 'invUnlisted');
    await friends([B, L], [B, U]);
    // B chooses invisible with L on the list while offline, then comes online.
    assert.equal((await host.api('PUT', '/visibility', B, { user_ids: [L] })).status, 200);
    const put = await host.api('PUT', '/status', B, { status: 'invisible', message: 'hiding' });
    assert.equal(put.status, 200, put.text);
    await withClients(host, async (open) => {
      const l = await open(L);
      const u = await open(U);
      const frozen = (await host.api('GET', `/users/${B}`, U)).json;
      assertPresence(frozen, { status: 'offline' });
      const b1 = await open(B);
      assertSelf(b1.snapshot.self, { status: 'invisible', message: 'hiding', visibility: [L] });
      assertPresence(await l.presenceOf(B), { status: 'online', message: 'hiding' });
      await u.assertSilent('invisible friend connected');
      const b2 = await open(B);
      await b1.heartbeat(true);
      await b2.heartbeat(false);
      await u.assertSilent('invisible friend: second device and heartbeats');
      await l.assertSilent('listed friend: nothing it sees changed', 0);
      await b1.request({ type: 'presence_update', status: 'invisible', message: 'still hiding' });
      assertPresence(await l.presenceOf(B), { status: 'online', message: 'still hiding' });
      await u.assertSilent('invisible friend edited the message');
      const later = (await host.api('GET', `/users/${B}`, U)).json;
      assert.deepEqual(later, frozen, 'unlisted friend: offline, last_seen frozen');
      const uq = await u.request({ type: 'presence_query', user_ids: [B] });
      assert.deepEqual(stripId(uq.users[0]), stripId(frozen));
      await b1.close();
      await b2.close();
      assertPresence(await l.presenceOf(B, 5000), { status: 'offline' });
      await u.assertSilent('invisible friend disconnected', 0);
    });
  });

  test('4.2 going invisible freezes last_seen for unlisted friends at that moment', async () => {
    const [B, U] = ids('frB', 'frU');
    await friends([B, U]);
    await withClients(host, async (open) => {
      const u = await open(U);
      const b = await open(B);
      await u.presenceOf(B);
      const t0 = Date.now();
      await b.request({ type: 'presence_update', status: 'invisible' });
      const off = await u.presenceOf(B);
      assertPresence(off, { status: 'offline' });
      assert.ok(Number.isInteger(off.last_seen) && off.last_seen >= t0 - 5000, `last_seen set at going invisible: ${JSON.stringify(off)}`);
      await sleep(300);
      await b.heartbeat();
      const q = await u.request({ type: 'presence_query', user_ids: [B] });
      assert.equal(q.users[0].last_seen, off.last_seen, 'frozen while invisible');
    });
  });

  test('3/4.2 invisible with until: when it passes, unlisted friends see online again', async () => {
    const [B, U] = ids('iuB', 'iuU');
    await friends([B, U]);
    await withClients(host, async (open) => {
      const u = await open(U);
      const b = await open(B);
      await u.presenceOf(B);
      const until = Date.now() + 1500;
      assertSelf(await b.request({ type: 'presence_update', status: 'invisible', until }), { status: 'invisible', until });
      assertPresence(await u.presenceOf(B), { status: 'offline' });
      assertPresence(await u.presenceOf(B, 6000), { status: 'online' });
      assertSelf(await b.nextSelf(6000), { status: 'online', until: null });
    });
  });

  test('4.4 adding to the visibility list while invisible sends online, removing sends offline', async () => {
    const [B, A] = ids('visB', 'visA');
    await friends([B, A]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b = await open(B);
      await a.presenceOf(B);
      await b.request({ type: 'presence_update', status: 'invisible', message: 'm' });
      assertPresence(await a.presenceOf(B), { status: 'offline' });
      const add = await host.api('PUT', `/visibility/${A}`, B);
      assert.equal(add.status, 200, add.text);
      assertPresence(await a.presenceOf(B), { status: 'online', message: 'm' });
      assertSelf(await b.nextSelf(), { visibility: [A] });
      const del = await host.api('DELETE', `/visibility/${A}`, B);
      assert.equal(del.status, 200, del.text);
      assertPresence(await a.presenceOf(B), { status: 'offline' });
      assertSelf(await b.nextSelf(), { visibility: [] });
      await a.assertSilent('nothing after removal');
    });
  });

  test('4.4 only friends may be on the visibility list', async () => {
    const [B, A, N] = ids('vfB', 'vfA', 'vfN');
    await friends([B, A]);
    const one = await host.api('PUT', `/visibility/${N}`, B);
    assert.equal(one.status, 422, one.text);
    assert.equal(one.json?.error?.code, 'not_friend');
    const all = await host.api('PUT', '/visibility', B, { user_ids: [A, N] });
    assert.equal(all.status, 422, all.text);
    assert.equal(all.json?.error?.code, 'not_friend');
    assert.ok(all.json.error.message.includes(N), `offender named: ${all.text}`);
    const got = await host.api('GET', '/visibility', B);
    assert.deepEqual(got.json, { user_ids: [] }, 'all or nothing: the friend was not added either');
  });

  test('4.5 ending a friendship sends offline both ways, then nothing; the ex-friend leaves the visibility list', async () => {
    const [A, B] = ids('ufA', 'ufB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b = await open(B);
      await a.presenceOf(B);
      assert.equal((await host.api('PUT', `/visibility/${A}`, B)).status, 200);
      assert.equal((await host.api('PUT', `/visibility/${B}`, A)).status, 200);
      await b.nextSelf();
      await a.nextSelf();
      await host.friendship('remove', A, B);
      assertPresence(await a.presenceOf(B), { status: 'offline' });
      assertPresence(await b.presenceOf(A), { status: 'offline' });
      assert.deepEqual((await host.api('GET', '/visibility', B)).json, { user_ids: [] });
      assert.deepEqual((await host.api('GET', '/visibility', A)).json, { user_ids: [] });
      await b.request({ type: 'presence_update', status: 'dnd', message: 'after' });
      await a.request({ type: 'presence_update', status: 'away', message: 'after' });
      const b2 = await open(B);
      await b2.close();
      // Drop our own presence_self frames, then require that nothing about the other arrived.
      await sleep(300);
      a.inbox = a.inbox.filter((f) => f.type !== 'presence_self');
      b.inbox = b.inbox.filter((f) => f.type !== 'presence_self');
      await a.assertSilent('ex-friend changed', 0);
      await b.assertSilent('ex-friend changed', 0);
      const q = await a.request({ type: 'presence_query', user_ids: [B] });
      assertPresence(q.users[0], { status: 'offline', message: null, last_seen: null });
      const fr = await host.api('GET', '/friends', A);
      assert.deepEqual(fr.json, { users: [] });
    });
  });
});
