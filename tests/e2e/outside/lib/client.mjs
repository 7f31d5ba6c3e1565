// An outside client: the `ws` package, JSON text frames, an inbox to wait on.
import WebSocket from 'ws';
import assert from 'node:assert/strict';
import { sleep } from './host.mjs';

// Frames the suite did not ask about but that must never be mistaken for "silence":
// heartbeat acks of the background keep-alive carry this ref and are dropped on arrival.
const KEEPALIVE_REF = 'keepalive';
let refSeq = 0;

export class Client {
  // Opens ws://.../ws?token=... for userId and waits for the presence_snapshot (SPEC 5: on open).
  // keepAlive: heartbeat every second, because the suite's host closes a socket silent for 3 s.
  static async open(host, userId, { keepAlive = true } = {}) {
    const c = new Client();
    c.userId = userId;
    c.inbox = [];
    c.waiters = [];
    c.idle = false;
    c.closed = null;
    c.ws = new WebSocket(host.wsUrl(userId), { handshakeTimeout: 5000 });
    c.closedPromise = new Promise((resolve) => {
      c.ws.on('close', (code, reason) => {
        c.closed = { code, reason: reason.toString() };
        c.stopKeepAlive();
        resolve(c.closed);
        c.wakeWaiters();
      });
    });
    c.ws.on('message', (data, isBinary) => {
      const text = data.toString();
      let frame;
      try {
        frame = JSON.parse(text);
      } catch {
        frame = { type: '__not_json__', text, isBinary };
      }
      if (frame.type === 'presence_heartbeat_ack' && frame.ref === KEEPALIVE_REF) return;
      c.inbox.push(frame);
      c.wakeWaiters();
    });
    await new Promise((resolve, reject) => {
      c.ws.once('open', resolve);
      c.ws.once('error', reject);
      c.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    c.ws.on('error', () => {
      /* a close follows; tests look at c.closed */
    });
    c.snapshot = await c.next((f) => f.type === 'presence_snapshot', 'presence_snapshot on open');
    if (keepAlive) c.startKeepAlive();
    return c;
  }

  startKeepAlive() {
    this.keepAliveTimer = setInterval(() => {
      if (this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify({ type: 'presence_heartbeat', idle: this.idle, ref: KEEPALIVE_REF }));
      }
    }, 1000);
  }

  stopKeepAlive() {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = null;
  }

  wakeWaiters() {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  // Removes and returns the first inbox frame matching pred; waits up to timeoutMs for it.
  async next(pred, what = 'frame', timeoutMs = 4000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      if (this.closed) throw new Error(`${this.userId}: socket closed (${this.closed.code}) while waiting for ${what}; inbox: ${JSON.stringify(this.inbox)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.userId}: no ${what} within ${timeoutMs} ms; inbox: ${JSON.stringify(this.inbox)}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  // Next presence event about subjectId.
  presenceOf(subjectId, timeoutMs) {
    return this.next((f) => f.type === 'presence' && f.user_id === subjectId, `presence event of ${subjectId}`, timeoutMs);
  }

  nextSelf(timeoutMs) {
    return this.next((f) => f.type === 'presence_self', 'presence_self', timeoutMs);
  }

  // Sends a frame with a fresh ref and returns the frame that echoes it (reply or error).
  async request(obj, timeoutMs) {
    refSeq += 1;
    const ref = `r${refSeq}`;
    this.send({ ...obj, ref });
    return this.next((f) => f.ref === ref, `answer to ${obj.type} ref ${ref}`, timeoutMs);
  }

  async heartbeat(idle = this.idle) {
    this.idle = idle;
    const ack = await this.request({ type: 'presence_heartbeat', idle });
    assert.equal(ack.type, 'presence_heartbeat_ack', `heartbeat answered by ${JSON.stringify(ack)}`);
    return ack;
  }

  // SPEC 4.3 silence: wait a little, then prove the socket is alive with a heartbeat round trip,
  // and require that nothing else arrived meanwhile.
  async assertSilent(why, waitMs = 300) {
    await sleep(waitMs);
    await this.heartbeat();
    assert.deepEqual(this.inbox, [], `${this.userId} expected no frame (${why}) but got ${JSON.stringify(this.inbox)}`);
  }

  async close() {
    this.stopKeepAlive();
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    const t = setTimeout(() => this.ws.terminate(), 2000);
    await this.closedPromise;
    clearTimeout(t);
  }
}

// Closes every client in the list, even when a test failed halfway.
export async function closeAll(clients) {
  await Promise.all(clients.filter(Boolean).map((c) => c.close().catch(() => {})));
}
