#include "demo_page.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace presence_host {

const std::vector<std::string>& demo_users() {
    static const std::vector<std::string> users = {"alice", "bob",  "carol",
                                                   "dave",  "erin", "frank"};
    return users;
}

const std::vector<std::pair<std::string, std::string>>& demo_friendships() {
    // Not everyone is friends with everyone, so the page also shows what non-friends miss.
    static const std::vector<std::pair<std::string, std::string>> pairs = {
        {"alice", "bob"}, {"alice", "carol"}, {"alice", "dave"}, {"bob", "carol"},
        {"bob", "erin"},  {"carol", "frank"}, {"dave", "erin"},  {"erin", "frank"}};
    return pairs;
}

DemoFriendsFile::~DemoFriendsFile() {
    if (!path_.empty()) unlink(path_.c_str());
    if (!dir_.empty()) rmdir(dir_.c_str());
}

bool DemoFriendsFile::write(std::string& error) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/presence-demo-XXXXXX";
    if (!mkdtemp(pattern.data())) {
        error = "cannot make a temp dir for the demo friends file";
        return false;
    }
    dir_ = pattern;
    path_ = dir_ + "/friends.txt";
    std::ofstream out(path_);
    for (const auto& [a, b] : demo_friendships()) out << a << ' ' << b << '\n';
    if (!out) {
        error = "cannot write " + path_;
        return false;
    }
    return true;
}

const std::string& demo_page_html() {
    static const std::string html = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>presence demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:15px system-ui,sans-serif;margin:2em;max-width:52em;color:#222}
 h1{font-size:1.3em} .row{margin:.6em 0} button{margin-right:.3em}
 .dot{display:inline-block;width:.7em;height:.7em;border-radius:50%;margin-right:.4em;background:#aaa}
 .online{background:#2a2} .away{background:#e90} .dnd{background:#d33} .invisible{background:#99c}
 ul{list-style:none;padding:0} li{padding:.25em 0} .msg{color:#666;margin-left:.5em}
 .seen{color:#999;font-size:.85em;margin-left:.5em} #log{font:12px monospace;color:#555;
 white-space:pre-wrap;max-height:14em;overflow:auto;border:1px solid #ddd;padding:.4em}
</style></head><body>
<h1>presence demo</h1>
<div class="row">Be: <span id="users"></span> <span id="state">not connected</span></div>
<div id="me" hidden>
 <div class="row"><span id="selfdot" class="dot"></span><b id="selfname"></b>
  <span id="selfstatus"></span><span class="msg" id="selfmsg"></span>
  <span class="seen" id="selfconns"></span></div>
 <div class="row">
  <select id="status"><option>online</option><option>away</option><option>dnd</option>
  <option>invisible</option></select>
  <input id="message" maxlength="128" placeholder="status message">
  <button id="set">set</button>
  <label><input type="checkbox" id="idle"> idle</label></div>
 <h2 style="font-size:1.1em">Friends</h2><ul id="friends"></ul>
</div>
<div id="log"></div>
<script>
"use strict";
const USERS = ["alice","bob","carol","dave","erin","frank"];
let ws = null, me = null, friends = new Map(), beat = null;
const $ = id => document.getElementById(id);
function log(line){ const l=$("log"); l.textContent = line + "\n" + l.textContent.slice(0,8000); }
function seen(ms){ return ms == null ? "" : "last seen " + new Date(ms).toLocaleTimeString(); }
function renderFriends(){
  const ul = $("friends"); ul.textContent = "";
  [...friends.values()].sort((a,b)=>a.user_id.localeCompare(b.user_id)).forEach(p => {
    const li = document.createElement("li");
    const dot = document.createElement("span"); dot.className = "dot " + p.status;
    const name = document.createElement("b"); name.textContent = p.user_id;
    const st = document.createElement("span"); st.textContent = " " + p.status;
    const msg = document.createElement("span"); msg.className = "msg"; msg.textContent = p.message || "";
    const ls = document.createElement("span"); ls.className = "seen";
    ls.textContent = p.status === "offline" ? seen(p.last_seen) : "";
    li.append(dot, name, st, msg, ls); ul.append(li);
  });
}
function renderSelf(s){
  $("selfname").textContent = s.user_id; $("selfstatus").textContent = " " + s.status;
  $("selfdot").className = "dot " + s.status; $("selfmsg").textContent = s.message || "";
  $("selfconns").textContent = s.connections + " connection(s)";
  $("status").value = s.status;
}
function connect(name){
  if (ws) ws.close(1000);
  me = name; friends = new Map();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(proto + "//" + location.host + "/ws?user=" + encodeURIComponent(name));
  $("state").textContent = "connecting as " + name + "...";
  ws.onopen = () => { $("state").textContent = "connected as " + name; $("me").hidden = false; };
  ws.onclose = e => { $("state").textContent = "closed (" + e.code + ")"; };
  ws.onmessage = e => {
    log("<- " + e.data);
    let f; try { f = JSON.parse(e.data); } catch (x) { return; }
    if (f.type === "presence_snapshot") { renderSelf(f.self);
      f.friends.forEach(p => friends.set(p.user_id, p)); renderFriends(); }
    else if (f.type === "presence") { friends.set(f.user_id, f); renderFriends(); }
    else if (f.type === "presence_self") { renderSelf(f); }
  };
  clearInterval(beat);
  beat = setInterval(() => send({type:"presence_heartbeat", idle:$("idle").checked}), 20000);
}
function send(frame){
  if (!ws || ws.readyState !== 1) return;
  const text = JSON.stringify(frame); log("-> " + text); ws.send(text);
}
USERS.forEach(u => { const b = document.createElement("button"); b.textContent = u;
  b.onclick = () => connect(u); $("users").append(b); });
$("set").onclick = () => { const m = $("message").value;
  send({type:"presence_update", status:$("status").value, message: m === "" ? null : m}); };
$("idle").onchange = () => send({type:"presence_heartbeat", idle:$("idle").checked});
</script></body></html>
)HTML";
    return html;
}

}  // namespace presence_host
