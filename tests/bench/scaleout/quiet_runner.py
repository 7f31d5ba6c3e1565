#!/usr/bin/env python3
"""quiet_runner.py LOG COMMANDS_FILE: runs each command of COMMANDS_FILE (one a line, # for
comments) only once no compiler or test suite has been running for 10 s (at most 15 minutes of
waiting), and again (up to 3 attempts) when one started during it. Appends to LOG the command,
its start time, whether the attempt was quiet or DISTURBED (and by what), and its output
without JSON lines. For a machine shared with someone building and testing: figures taken
while a compiler runs beside them say nothing about the code."""
import os, subprocess, sys, threading, time, json

FOREIGN_COMM = {"cc1plus", "as", "ld", "collect2", "make", "gmake", "cmake", "ctest", "ninja",
                "clang-format", "clang-tidy", "gcc", "g++", "c++"}
FOREIGN_ARGS = ("build/asan", "build/release/", "build/debug", "scaleout_tests", "e2e_tests",
                "unit_tests", "redis_client_tests", "redis_unit_tests", "store_tests", "fuzz")


def foreign():
    found = []
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            comm = open(f"/proc/{pid}/comm").read().strip()
            args = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # Our own tools and the servers they start (their configs live in our temp dirs).
        if ("tests/bench/" in args or "presence-scaleout-" in args or "quiet_runner" in args
                or "presence-load-" in args):
            continue
        if comm in FOREIGN_COMM or any(a in args for a in FOREIGN_ARGS):
            found.append(f"{pid}:{comm}")
    return found


def wait_quiet(quiet_s=10, max_wait_s=900):
    start = time.time()
    since = time.time()
    while time.time() - start < max_wait_s:
        f = foreign()
        if f:
            since = time.time()
        elif time.time() - since >= quiet_s:
            return True
        time.sleep(1)
    return False


def run(cmd, log):
    for attempt in range(1, 4):
        quiet = wait_quiet()
        seen = set()
        done = threading.Event()

        def watch():
            while not done.is_set():
                for x in foreign():
                    seen.add(x.split(":")[1])
                time.sleep(0.5)

        t = threading.Thread(target=watch)
        t.start()
        t0 = time.strftime("%H:%M:%S", time.gmtime())
        p = subprocess.run(cmd, shell=True, capture_output=True, text=True)
        done.set()
        t.join()
        status = "quiet" if not seen and quiet else "DISTURBED by " + ",".join(sorted(seen))
        with open(log, "a") as f:
            f.write(f"$ {cmd}\n# {t0} UTC attempt {attempt}: {status}, exit {p.returncode}\n")
            f.write("".join(l + "\n" for l in p.stdout.splitlines() if not l.startswith("{")))
            if p.stderr.strip():
                f.write("stderr: " + p.stderr[-2000:] + "\n")
        print(f"{t0} attempt {attempt} {status}: {cmd[:120]}", flush=True)
        if not seen:
            return
    return


if __name__ == "__main__":
    log = sys.argv[1]
    for line in open(sys.argv[2]):
        line = line.strip()
        if line and not line.startswith("#"):
            run(line, log)
