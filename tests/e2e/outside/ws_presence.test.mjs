// SPEC 3 and 5 over the wire: snapshot, events on connect and after grace, multi-device,
// heartbeats, auto-away, updates, messages, until, statuses, queries, liveness.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Host, ids, sleep } from './lib/host.mjs';
import { assertPresence, assertSelf, withClients } from './lib/shapes.mjs';

let host;
before(async () => {
  host = await Host.start({ friendPairs: [['snapA', 'snapB'], ['snapA', 'snapC']] });
});
after(async () => {
  await host?.stop();
});

async function friends(...pairs) {
  for (const [a, b] of pairs) await host.friendship('add', a, b);
}

describe('WebSocket presence (SPEC 3, 5)', () => {
  test('snapshot on open has <self> and every friend as <presence>', async () => {
    await withClients(host, async (open) => {
      const b = await open('snapB');
      const a = await open('snapA');
      assertSelf(a.snapshot.self, { user_id: 'snapA', status: 'online', message: null, until: null, visibility: [], connections: 1 });
      assert.equal(a.snapshot.type, 'presence_snapshot');
      assert.ok(Array.isArray(a.snapshot.friends));
      const byId = Object.fromEntries(a.snapshot.friends.map((f) => [f.user_id, f]));
      assert.deepEqual(Object.keys(byId).sort(), ['snapB', 'snapC'], 'friends_file friends, both directions');
      assertPresence(byId.snapB, { status: 'online', message: null });
      assertPresence(byId.snapC, { status: 'offline', message: null, last_seen: null });
      // Friendship is both directions: B's snapshot lists A (offline at the time B opened).
      assert.deepEqual(b.snapshot.friends.map((f) => f.user_id), ['snapA']);
    });
  });

  test('a friend connecting is announced online; after the last close and the grace, offline with last_seen', async () => {
    const [A, B] = ids('conA', 'conB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b = await open(B);
      assertPresence(await a.presenceOf(B), { user_id: B, status: 'online', message: null });
      const before = Date.now();
      await b.close();
      const off = await a.presenceOf(B, 5000);
      assertPresence(off, { user_id: B, status: 'offline' });
      assert.ok(Number.isInteger(off.last_seen), `offline carries last_seen: ${JSON.stringify(off)}`);
      assert.ok(off.last_seen >= before - 5000 && off.last_seen <= Date.now() + 5000, 'last_seen is epoch ms of about now');
    });
  });

  test('multi-device: a second device counts, closing one of two is no event to friends', async () => {
    const [A, B] = ids('mdA', 'mdB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b1 = await open(B);
      await a.presenceOf(B);
      const b2 = await open(B);
      assertSelf(b2.snapshot.self, { user_id: B, connections: 2 });
      // SPEC 5: presence_self goes to all devices when the user's own state (incl. connections) changes.
      assertSelf(await b1.nextSelf(), { user_id: B, connections: 2 });
      await a.assertSilent('second device of an online friend');
      await b2.close();
      assertSelf(await b1.nextSelf(), { user_id: B, connections: 1 });
      await sleep(1500); // past offline_grace_s = 1
      await a.assertSilent('one of two devices closed', 0);
      const me = await host.api('GET', '/me', B);
      assert.equal(me.status, 200);
      assertSelf(me.json, { connections: 1, status: 'online' });
    });
  });

  test('a reload inside the grace does not flap', async () => {
    const [A, B] = ids('rlA', 'rlB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b1 = await open(B);
      await a.presenceOf(B);
      await b1.close();
      await open(B);
      await sleep(1500);
      await a.assertSilent('reconnect within offline_grace_s', 0);
    });
  });

  test('heartbeat is acked with server_time and ref, and broadcasts nothing', async () => {
    const [A, B] = ids('hbA', 'hbB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b = await open(B);
      await a.presenceOf(B);
      b.send({ type: 'presence_heartbeat', idle: false, ref: 42 });
      const ack = await b.next((f) => f.ref === 42, 'ack with numeric ref 42');
      assert.equal(ack.type, 'presence_heartbeat_ack');
      assert.ok(Number.isInteger(ack.server_time), `server_time is integer ms: ${JSON.stringify(ack)}`);
      assert.ok(Math.abs(ack.server_time - Date.now()) < 60000, 'server_time is epoch milliseconds');
      await a.assertSilent('friend heartbeat');
    });
  });

  test('auto-away: every connection idle -> away, any active again -> online', async () => {
    const [A, B] = ids('idA', 'idB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b1 = await open(B);
      const b2 = await open(B);
      await a.presenceOf(B);
      await b1.heartbeat(true);
      await a.assertSilent('only one of two devices idle');
      await b2.heartbeat(true);
      assertPresence(await a.presenceOf(B), { user_id: B, status: 'away' });
      await b1.heartbeat(false);
      assertPresence(await a.presenceOf(B), { user_id: B, status: 'online' });
      // The chosen status is still online: the user's own devices see what they chose.
      const me = await host.api('GET', '/me', B);
      assert.equal(me.json.status, 'online');
    });
  });

  test('presence_update answers presence_self on every device and tells friends', async () => {
    const [A, B] = ids('upA', 'upB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b1 = await open(B);
      const b2 = await open(B);
      await a.presenceOf(B);
      await b1.nextSelf(); // connections: 2
      const reply = await b1.request({ type: 'presence_update', status: 'dnd', message: 'focus' });
      assert.equal(reply.type, 'presence_self');
      assertSelf(reply, { user_id: B, status: 'dnd', message: 'focus', until: null, connections: 2 });
      assertSelf(await b2.nextSelf(), { user_id: B, status: 'dnd', message: 'focus' });
      assertPresence(await a.presenceOf(B), { user_id: B, status: 'dnd', message: 'focus' });
    });
  });

  test('message: absent keeps the old one, null clears it', async () => {
    const [A, B] = ids('msgA', 'msgB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b = await open(B);
      await a.presenceOf(B);
      assertSelf(await b.request({ type: 'presence_update', status: 'away', message: 'lunch' }), { status: 'away', message: 'lunch' });
      assertPresence(await a.presenceOf(B), { status: 'away', message: 'lunch' });
      assertSelf(await b.request({ type: 'presence_update', status: 'dnd' }), { status: 'dnd', message: 'lunch' });
      assertPresence(await a.presenceOf(B), { status: 'dnd', message: 'lunch' });
      assertSelf(await b.request({ type: 'presence_update', status: 'dnd', message: null }), { status: 'dnd', message: null });
      assertPresence(await a.presenceOf(B), { status: 'dnd', message: null });
    });
  });

  test('a message of 128 code points is accepted (counted as code points, not bytes)', async () => {
    const [B] = ids('cpB');
    await withClients(host, async (open) => {
      const b = await open(B);
      const msg = '\u{1F600}'.repeat(128); // 128 code points, 512 bytes
      const r = await b.request({ type: 'presence_update', status: 'online', message: msg });
      assertSelf(r, { message: msg });
      const long = await b.request({ type: 'presence_update', status: 'online', message: 'x'.repeat(129) });
      assert.equal(long.type, 'error', `129 code points refused: ${JSON.stringify(long)}`);
    });
  });

  test('until in the future: friends see the status, then online when it passes', async () => {
    const [A, B] = ids('unA', 'unB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b = await open(B);
      await a.presenceOf(B);
      const until = Date.now() + 1500;
      assertSelf(await b.request({ type: 'presence_update', status: 'dnd', message: 'call', until }), { status: 'dnd', until });
      assertPresence(await a.presenceOf(B), { status: 'dnd', message: 'call' });
      assertPresence(await a.presenceOf(B, 6000), { status: 'online' });
      assertSelf(await b.nextSelf(6000), { status: 'online', until: null });
    });
  });

  test('dnd, away and invisible as friends see them (invisible = offline), own devices see the choice', async () => {
    const [A, B] = ids('stA', 'stB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b = await open(B);
      await a.presenceOf(B);
      for (const s of ['dnd', 'away']) {
        assertSelf(await b.request({ type: 'presence_update', status: s }), { status: s });
        assertPresence(await a.presenceOf(B), { status: s });
      }
      assertSelf(await b.request({ type: 'presence_update', status: 'invisible' }), { status: 'invisible' });
      assertPresence(await a.presenceOf(B), { status: 'offline' });
      assertSelf(await b.request({ type: 'presence_update', status: 'online' }), { status: 'online' });
      assertPresence(await a.presenceOf(B), { status: 'online' });
    });
  });

  test('presence_query answers in the order asked, duplicates removed', async () => {
    const [A, B, C] = ids('qA', 'qB', 'qC');
    await friends([A, B], [A, C]);
    await withClients(host, async (open) => {
      const a = await open(A);
      await open(B);
      await a.presenceOf(B);
      const r = await a.request({ type: 'presence_query', user_ids: [C, B, 'nobody-here', C, B] });
      assert.equal(r.type, 'presence_result');
      assert.deepEqual(r.users.map((u) => u.user_id), [C, B, 'nobody-here']);
      assertPresence(r.users[0], { status: 'offline' });
      assertPresence(r.users[1], { status: 'online' });
      assertPresence(r.users[2], { status: 'offline', message: null, last_seen: null });
    });
  });

  test('a socket silent for heartbeat_timeout_s is closed and its user goes offline', async () => {
    const [A, B] = ids('toA', 'toB');
    await friends([A, B]);
    await withClients(host, async (open) => {
      const a = await open(A);
      const b = await open(B, { keepAlive: false });
      await a.presenceOf(B);
      const closed = await Promise.race([b.closedPromise, sleep(10000).then(() => null)]);
      assert.ok(closed, 'silent socket not closed within 10 s (heartbeat_timeout_s = 3)');
      assertPresence(await a.presenceOf(B, 5000), { status: 'offline' });
    });
  });
});
