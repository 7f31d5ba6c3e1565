// SPEC 5 error frames: every code the client can provoke alone, `ref` echoed when the frame
// carried one, and the connection still usable afterwards (proven by a heartbeat ack).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Host, ids } from './lib/host.mjs';
import { assertSelf, withClients } from './lib/shapes.mjs';

let host;
before(async () => {
  host = await Host.start();
});
after(async () => {
  await host?.stop();
});

function assertError(frame, code, ref) {
  assert.equal(frame.type, 'error', `expected error ${code}, got ${JSON.stringify(frame)}`);
  assert.equal(frame.code, code, JSON.stringify(frame));
  assert.equal(typeof frame.message, 'string');
  assert.ok(frame.message.length > 0, 'error message is not empty');
  if (ref !== undefined) assert.deepEqual(frame.ref, ref, `ref echoed: ${JSON.stringify(frame)}`);
}

// Each case: the frame sent (object or raw text), the code expected, the ref to see echoed.
const CASES = [
  { name: 'bad_json for text that is not JSON', raw: '{"type":"presence_heartbeat",', code: 'bad_json' },
  { name: 'unknown_type with a string ref', frame: { type: 'presence_dance', ref: 'u-1' }, code: 'unknown_type', ref: 'u-1' },
  { name: 'unknown_type with a number ref', frame: { type: 'nope', ref: 7 }, code: 'unknown_type', ref: 7 },
  { name: 'invalid_status for a status outside the four', frame: { type: 'presence_update', status: 'sleeping', ref: 's' }, code: 'invalid_status', ref: 's' },
  { name: 'invalid_status for offline (never chosen)', frame: { type: 'presence_update', status: 'offline', ref: 'o' }, code: 'invalid_status', ref: 'o' },
  { name: 'invalid_field for a non-string message', frame: { type: 'presence_update', status: 'away', message: 5, ref: 'm' }, code: 'invalid_field', ref: 'm' },
  { name: 'invalid_field for until on online', frame: { type: 'presence_update', status: 'online', until: Date.now() + 60000, ref: 'uo' }, code: 'invalid_field', ref: 'uo' },
  { name: 'invalid_field for user_ids that is not a list', frame: { type: 'presence_query', user_ids: 'b', ref: 'q' }, code: 'invalid_field', ref: 'q' },
  { name: 'invalid_field for a malformed user id in a query', frame: { type: 'presence_query', user_ids: ['bad id!'], ref: 'q2' }, code: 'invalid_field', ref: 'q2' },
  { name: 'invalid_field for a non-boolean idle', frame: { type: 'presence_heartbeat', idle: 'yes', ref: 'h' }, code: 'invalid_field', ref: 'h' },
  {
    name: 'too_many for a query over max_batch (500) ids',
    frame: { type: 'presence_query', user_ids: Array.from({ length: 501 }, (_, i) => `u${i}`), ref: 'tm' },
    code: 'too_many',
    ref: 'tm',
  },
  {
    name: 'too_large for a frame over max_message_bytes (65536)',
    frame: { type: 'presence_update', status: 'away', message: 'x'.repeat(70000), ref: 'tl' },
    code: 'too_large',
  },
];

describe('Error frames (SPEC 5)', () => {
  for (const c of CASES) {
    test(`${c.name}; the connection stays usable`, async () => {
      const [A] = ids('err');
      await withClients(host, async (open) => {
        const a = await open(A);
        a.send(c.raw ?? c.frame);
        const err = await a.next((f) => f.type === 'error', `error ${c.code}`);
        assertError(err, c.code, c.ref);
        assert.equal(a.closed, null, 'connection still open');
        await a.heartbeat();
        // Nothing was applied: the chosen status is unchanged.
        const me = await host.api('GET', '/me', A);
        assertSelf(me.json, { status: 'online', message: null });
      });
    });
  }

  test('not_friend on PUT /visibility names every offender and changes nothing', async () => {
    const [A, F, X, Y] = ids('nfVisA', 'nfVisF', 'nfVisX', 'nfVisY');
    await host.friendship('add', A, F);
    const r = await host.api('PUT', '/visibility', A, { user_ids: [F, X, Y] });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.json?.error?.code, 'not_friend', r.text);
    assert.ok(r.json.error.message.includes(X) && r.json.error.message.includes(Y), `both offenders named: ${r.text}`);
    assert.deepEqual((await host.api('GET', '/visibility', A)).json, { user_ids: [] });
  });
});
