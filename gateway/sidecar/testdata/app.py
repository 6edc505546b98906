#!/usr/bin/env python3
"""greeter: an application in Python (standard library only) that takes part in jesus
through the sidecar, which it reaches over a unix socket. It serves hello, count and
note, listens to tick (pushed, and read as server-sent events), calls clock.now and emits
greeted. It prints what happens as JSON lines on stdout."""

import argparse
import http.client
import http.server
import json
import socket
import sys
import threading

out_lock = threading.Lock()


def say(**kv):
    with out_lock:
        sys.stdout.write(json.dumps(kv) + "\n")
        sys.stdout.flush()


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to the sidecar's unix socket."""

    def __init__(self, path, timeout=30):
        super().__init__("sidecar", timeout=timeout)
        self.socket_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            s.settimeout(self.timeout)
        s.connect(self.socket_path)
        self.sock = s


def sidecar(path, method, url, body=None, headers=None):
    conn = UnixHTTPConnection(path)
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    conn.request(method, url, body=json.dumps(body) if body is not None else None, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, json.loads(data) if data else None


class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(n) or b"null")

    def reply(self, status, obj=None, ctype="application/json"):
        data = b"" if obj is None else (obj if isinstance(obj, bytes) else json.dumps(obj).encode())
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self.reply(200, {"ok": True})
        else:
            self.reply(404, {"code": "not_found", "message": "greeter: no " + self.path})

    def do_POST(self):
        req = self.body()
        if self.path == "/hello":
            say(served="hello", req=req, corrid=self.headers.get("Jesus-Corrid"), caller=self.headers.get("Jesus-From"))
            self.reply(200, {"greeting": "hello " + req["name"]})
        elif self.path == "/count":
            lines = [json.dumps({"item": {"i": i}}) for i in range(1, req["n"] + 1)]
            lines.append(json.dumps({"end": {}}))
            self.reply(200, ("\n".join(lines) + "\n").encode(), "application/x-ndjson")
        elif self.path == "/note":
            say(served="note", req=req)
            self.reply(204)
        elif self.path == "/events/tick":
            say(push=req, event=self.headers.get("Jesus-Event"), id=self.headers.get("Jesus-Event-Id"))
            self.reply(204)
        else:
            self.reply(404, {"code": "not_found", "message": "greeter: no " + self.path})


def read_sse(path):
    conn = UnixHTTPConnection(path, timeout=None)
    conn.request("GET", "/v1/events?name=tick")
    resp = conn.getresponse()
    if resp.status != 200:
        say(sse_error=resp.status, body=resp.read().decode())
        return
    while True:
        line = resp.readline()
        if not line:
            return
        line = line.decode().rstrip("\n")
        if line == ": subscribed":
            say(sse="subscribed")
        elif line.startswith("data: "):
            say(sse=json.loads(line[6:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True, help="the sidecar's unix socket")
    ap.add_argument("--descriptor", required=True)
    ap.add_argument("--interval-ms", type=int, default=500)
    args = ap.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % server.server_address[1]

    with open(args.descriptor) as f:
        desc = json.load(f)
    status, info = sidecar(args.socket, "PUT", "/v1/apps/greeter",
                           {"descriptor": desc, "url": url, "healthcheck": "/health", "intervalMs": args.interval_ms})
    say(registered=info, status=status)
    if status != 200:
        sys.exit(1)

    threading.Thread(target=read_sse, args=(args.socket,), daemon=True).start()

    status, res = sidecar(args.socket, "POST", "/v1/call/clock.now", {"zone": "Europe/Rome"}, {"Jesus-From": "greeter"})
    say(called=res, status=status)
    status, res = sidecar(args.socket, "POST", "/v1/emit/greeted", {"name": "Py"})
    say(emitted=res, status=status)
    threading.Event().wait()


if __name__ == "__main__":
    main()
