#!/usr/bin/env python3
"""A hub worker in Python 3, standard library only: it opens no port, pulls the jobs of
one service from every hub given through the AstroHub API and posts the answers back.

usage: worker.py HUB[,HUB...] SERVICE NAME [hold]

With "hold" it takes one job, prints "HOLD <id>" and never answers (a worker that dies
holding a job). Otherwise it answers {"echo": <request>, "worker": NAME, "method": ...}.
"""
import json
import sys
import threading
import time
import urllib.error
import urllib.request


def poll(hub, service, name, hold):
    url = "http://%s/service/%s/jobs?wait=2s" % (hub, service)
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                if resp.status == 204:
                    continue
                job = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError) as e:
            time.sleep(0.1)
            continue
        if hold:
            print("HOLD %s" % job["id"], flush=True)
            while True:
                time.sleep(3600)
        req = job["originalRequest"]
        if isinstance(req, dict) and req.get("fail"):
            body = json.dumps({"code": "failed_precondition", "message": "asked to fail"}).encode()
            headers = {"Content-Type": "application/json", "Jesus-Error-Code": "failed_precondition"}
        else:
            answer = {"echo": req, "worker": name, "method": job.get("method", ""), "attempt": job.get("attempt", 0)}
            body = json.dumps(answer).encode()
            headers = {"Content-Type": "application/json"}
        post = urllib.request.Request("http://%s/jobs/%s" % (hub, job["id"]), data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(post, timeout=10) as resp:
                resp.read()
        except (urllib.error.URLError, OSError) as e:
            print("answer failed: %s" % e, file=sys.stderr, flush=True)


def main():
    hubs, service, name = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
    hold = len(sys.argv) > 4 and sys.argv[4] == "hold"
    print("READY %s" % name, flush=True)
    threads = [threading.Thread(target=poll, args=(h, service, name, hold), daemon=True) for h in hubs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
