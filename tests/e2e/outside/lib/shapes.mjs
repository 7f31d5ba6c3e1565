// The wire shapes of SPEC 5, checked key by key so an extra or missing field is a failure.
import assert from 'node:assert/strict';
import { Client, closeAll } from './client.mjs';

const EFFECTIVE = ['online', 'away', 'dnd', 'offline'];
const CHOSEN = ['online', 'away', 'dnd', 'invisible'];

// <presence> = {"user_id","status","message","last_seen"}; expected fields are compared too.
export function assertPresence(p, expected = {}, why = '') {
  const { type: _t, ref: _r, ...body } = p;
  assert.deepEqual(Object.keys(body).sort(), ['last_seen', 'message', 'status', 'user_id'], `<presence> keys ${why}: ${JSON.stringify(p)}`);
  assert.equal(typeof p.user_id, 'string');
  assert.ok(EFFECTIVE.includes(p.status), `effective status ${p.status} ${why}`);
  assert.ok(p.message === null || typeof p.message === 'string', `message ${why}`);
  assert.ok(p.last_seen === null || Number.isInteger(p.last_seen), `last_seen ${why}`);
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(p[k], v, `${k} of ${JSON.stringify(p)} ${why}`);
}

// <self> = {"user_id","status","message","until","visibility","connections"}.
export function assertSelf(s, expected = {}, why = '') {
  const { type: _t, ref: _r, ...body } = s;
  assert.deepEqual(Object.keys(body).sort(), ['connections', 'message', 'status', 'until', 'user_id', 'visibility'], `<self> keys ${why}: ${JSON.stringify(s)}`);
  assert.ok(CHOSEN.includes(s.status), `chosen status ${s.status} ${why}`);
  assert.ok(s.message === null || typeof s.message === 'string');
  assert.ok(s.until === null || Number.isInteger(s.until));
  assert.ok(Array.isArray(s.visibility));
  assert.ok(Number.isInteger(s.connections));
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(s[k], v, `${k} of ${JSON.stringify(s)} ${why}`);
}

// Runs fn(open) where open(user, opts) opens a tracked client; all are closed afterwards.
export async function withClients(host, fn) {
  const clients = [];
  const open = async (user, opts) => {
    const c = await Client.open(host, user, opts);
    clients.push(c);
    return c;
  };
  try {
    await fn(open);
  } finally {
    await closeAll(clients);
  }
}
