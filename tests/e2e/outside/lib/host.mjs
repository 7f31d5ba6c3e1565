// Starts a real presence-host (SPEC 10) in a throwaway directory and talks to it over HTTP.
// Written from the SPEC and the README's host-stub section only, not from our C++ sources,
// so that it checks the wire contract the way a third party would read it.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOST_BIN = process.env.PRESENCE_HOST_BIN;
const PLUGIN_SO = process.env.PRESENCE_PLUGIN_SO;

// Every host this process started, so an exit for any reason still kills them.
const liveHosts = new Set();
process.on('exit', () => {
  for (const h of liveHosts) h.killNow();
});

export class Host {
  // friendPairs: [[a, b], ...] written to presence.friends_file (both directions implied).
  static async start({ friendPairs = [], extra = {} } = {}) {
    if (!HOST_BIN || !PLUGIN_SO) {
      throw new Error('PRESENCE_HOST_BIN and PRESENCE_PLUGIN_SO must be set (run.sh sets them)');
    }
    const h = new Host();
    h.dir = mkdtempSync(join(tmpdir(), 'presence-outside-'));
    h.adminToken = 'admin-' + Math.random().toString(36).slice(2);
    const friendsFile = join(h.dir, 'friends.txt');
    writeFileSync(friendsFile, friendPairs.map(([a, b]) => `${a} ${b}\n`).join(''));
    const settings = {
      'host.listen': '127.0.0.1:0',
      'host.plugin': PLUGIN_SO,
      'host.auth_secret': 'outside-secret-' + Math.random().toString(36).slice(2),
      'host.admin_token': h.adminToken,
      'presence.friends_file': friendsFile,
      'presence.offline_grace_s': '1',
      'presence.heartbeat_timeout_s': '3',
      ...extra,
    };
    h.config = join(h.dir, 'presence.conf');
    writeFileSync(
      h.config,
      '# written by the outside conformance suite\n' +
        Object.entries(settings)
          .map(([k, v]) => `${k} = ${v}\n`)
          .join(''),
    );
    h.proc = spawn(HOST_BIN, ['--config', h.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    liveHosts.add(h);
    h.stderr = '';
    h.proc.stderr.on('data', (d) => {
      h.stderr += d.toString();
    });
    h.exited = new Promise((resolve) => h.proc.on('exit', (code, sig) => resolve({ code, sig })));
    const port = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('no "listening on" line within 10 s; stderr:\n' + h.stderr)), 10000);
      h.proc.stdout.on('data', (d) => {
        out += d.toString();
        const m = out.match(/listening on http:\/\/([^:\s]+):(\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[2]));
        }
      });
      h.proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`presence-host exited (${code}) before listening; stderr:\n${h.stderr}`));
      });
    });
    h.port = port;
    h.base = `http://127.0.0.1:${port}`;
    h.tokens = new Map();
    return h;
  }

  // SPEC 10: `presence-host token --config FILE USER_ID` prints the token alone.
  token(userId) {
    if (!this.tokens.has(userId)) {
      const out = execFileSync(HOST_BIN, ['token', '--config', this.config, userId], { encoding: 'utf8' });
      this.tokens.set(userId, out.trim());
    }
    return this.tokens.get(userId);
  }

  wsUrl(userId) {
    return `ws://127.0.0.1:${this.port}/ws?token=${encodeURIComponent(this.token(userId))}`;
  }

  // REST call under the default prefix. user null = no Authorization header.
  // body: object (sent as JSON), string (sent raw) or undefined.
  async api(method, path, user, body) {
    return this.http(method, '/api/presence' + path, user === null ? null : this.token(user), body);
  }

  async http(method, path, bearer, body) {
    const headers = {};
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(this.base + path, { method, headers, body: payload, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json, headers: res.headers };
  }

  // SPEC 6: friendship changes through the host stub's admin route.
  async friendship(op, a, b) {
    const r = await this.http('POST', '/admin/friendships', this.adminToken, { op, a, b });
    if (r.status !== 200) throw new Error(`admin ${op} ${a} ${b}: ${r.status} ${r.text}`);
    return r;
  }

  killNow() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      try {
        this.proc.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  // SIGTERM first (a clean stop), SIGKILL if it does not leave within 5 s; the temp dir goes too.
  async stop() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => this.killNow(), 5000);
      await this.exited;
      clearTimeout(t);
    }
    liveHosts.delete(this);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Fresh user ids per test, so tests sharing one host never see each other.
let seq = 0;
export function ids(...names) {
  seq += 1;
  return names.map((n) => `${n}${seq}`);
}
