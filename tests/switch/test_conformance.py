"""Conformance of the real message-switch with the reference wire protocol (spec §1, §11)."""

import json
import os
import stat
import subprocess
import time
import unittest

from switch_harness import SWITCH, Switch, wait_until


class SwitchCase(unittest.TestCase):
    switch_args = ()

    def setUp(self):
        self.sw = Switch(*self.switch_args).start()
        self.addCleanup(self.sw.cleanup)

    def curl(self, method, path, body=None):
        cmd = ["curl", "-s", "-i", "--max-time", "10", "--unix-socket", self.sw.path, "-X", method]
        if body is not None:
            cmd += ["--data-binary", body]
        cmd.append("http://localhost" + path)
        return subprocess.run(cmd, capture_output=True, timeout=20, check=True).stdout


class Framing(SwitchCase):
    def test_golden_frames_get_exact_answers(self):
        c = self.sw.connect()
        golden = [
            ("GET", "/login/hello", b"", b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
            ("GET", "/persistent/service", b"",
             b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nservice"),
            ("GET", "/transient/client", b"", b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nclient"),
            ("POST", "/request/service/reply%20to", b"hello",
             b'HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n[["service",0]]'),
            ("POST", "/response/service/q/1", b"hello",
             b'HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n[["service",1]]'),
            ("POST", "/transfer", b'{"from":"3","timeout":5.0,"queues":["one","two"]}',
             b'HTTP/1.1 200 OK\r\ncontent-length: 26\r\n\r\n{"messages":[],"next":"3"}'),
            ("GET", "/ack/q/3", b"", b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
        ]
        for method, target, body, expected in golden:
            if target == "/transfer":
                body = body.replace(b"5.0", b"0.0")  # answer at once
            c.send(method, target, body)
            self.assertEqual(c.read_response()[3], expected, target)
        # The reference's two-queue golden batch.
        c.request("GET", "/persistent/q")
        c.request("GET", "/persistent/q2")
        c.request("POST", "/request/q/reply%20to", "x")
        c.request("POST", "/request/q/reply%20to", "hello")
        c.request("POST", "/request/q2/x", "a")
        c.request("POST", "/request/q2/x", "b")
        c.request("POST", "/response/q2/q/1", "hello")
        c.request("GET", "/ack/q/0")
        c.request("GET", "/ack/q2/0")
        c.request("GET", "/ack/q2/1")
        c.send("POST", "/transfer", '{"from":"0","timeout":0.0,"queues":["q","q2"]}')
        status, _, body, _ = c.read_response()
        self.assertEqual(
            body,
            b'{"messages":[[["q",1],{"payload":"hello","kind":["Request","reply to"]}],'
            b'[["q2",2],{"payload":"hello","kind":["Response",["q",1]]}]],"next":"2"}')

    def test_curl_golden_exchanges(self):
        self.assertEqual(self.curl("GET", "/login/hello"),
                         b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        self.assertEqual(self.curl("POST", "/request/svc/me", "x"),
                         b"HTTP/1.1 404 Not Found\r\ncontent-length: 14\r\n\r\nPlease log in.")
        self.assertEqual(self.curl("GET", "/nonsense"),
                         b"HTTP/1.1 404 Not Found\r\ncontent-length: 31\r\n\r\n"
                         b"Not found: //localhost/nonsense")
        diag = self.curl("GET", "/").split(b"\r\n\r\n", 1)[1]
        self.assertEqual(json.loads(diag)["start_time"], 0)

    def test_status_codes(self):
        c = self.sw.connect()
        self.assertEqual(c.request("POST", "/request/q/me", "x"), (404, "Please log in."))
        self.assertEqual(c.request("POST", "/transfer", '{"timeout":30.0,"queues":["q"]}'),
                         (404, "Please log in."))
        c.request("GET", "/login/me")
        self.assertEqual(c.request("POST", "/request/missing/me", "x"), (200, "[]"))
        self.assertEqual(c.request("GET", "/persistent/q", "body")[0], 404)
        status, body = c.request("GET", "/ack/q/notanumber")
        self.assertEqual(status, 500)
        self.assertIn("bad message id", body)
        self.assertEqual(c.request("GET", "/admin/index.html")[0], 404)  # no file serving

    def test_pipelined_requests_are_answered_in_order(self):
        c = self.sw.connect()
        c.send_raw(Conn_frames([("GET", "/login/p", b""), ("GET", "/persistent/q", b"")] +
                               [("POST", "/request/q/p", b"m%d" % i) for i in range(200)]))
        self.assertEqual(c.read_response()[0], 200)
        self.assertEqual(c.read_response()[2], b"q")
        for i in range(200):
            self.assertEqual(c.read_response()[2], b'[["q",%d]]' % i)

    def test_a_pipelined_burst_larger_than_the_answer_backlog(self):
        # More requests than the per-connection answer backlog (4096), sent before reading any
        # answer: the switch must come back to the requests left in its buffer.
        c = self.sw.connect("p")
        c.request("GET", "/persistent/q")
        n = 6000
        c.send_raw(Conn_frames([("POST", "/request/q/p", b"m")] * n))
        data = b""
        c.sock.settimeout(20)
        while data.count(b"HTTP/1.1 200 OK") < n:
            chunk = c.sock.recv(1 << 20)
            self.assertTrue(chunk, "connection closed early")
            data += chunk
        self.assertTrue(data.endswith(b'[["q",%d]]' % (n - 1)))

    def test_answers_behind_a_parked_transfer_wait_for_it(self):
        c = self.sw.connect("w")
        c.request("GET", "/persistent/q")
        c.send_raw(Conn_frames([
            ("POST", "/transfer", b'{"timeout":30.0,"queues":["q"]}'),
            ("POST", "/request/q/w", b"wake"),
        ]))
        status, _, body, _ = c.read_response()
        self.assertEqual(json.loads(body)["messages"][0][1]["payload"], "wake")
        self.assertEqual(c.read_response()[2], b'[["q",0]]')


def Conn_frames(items):
    from switch_harness import Conn
    return b"".join(Conn.frame(m, t, b) for m, t, b in items)


class IdsAndLongPoll(SwitchCase):
    def transfer(self, c, queues, frm=None, timeout=0.0):
        req = {"timeout": timeout, "queues": queues}
        if frm is not None:
            req["from"] = frm
        status, body = c.request("POST", "/transfer", json.dumps(req), timeout=timeout + 10)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_id_allocation_and_cursor(self):
        c = self.sw.connect("me")
        c.request("GET", "/persistent/q")
        for i in range(3):
            self.assertEqual(c.request("POST", "/request/q/me", "m")[1], '[["q",%d]]' % i)
        t = self.transfer(c, ["q"])
        self.assertEqual([m[0][1] for m in t["messages"]], [2, 1, 0])
        self.assertEqual(t["next"], "2")
        self.assertEqual([m[0][1] for m in self.transfer(c, ["q"], "1")["messages"]], [2])
        c.request("GET", "/ack/q/1")
        self.assertEqual([m[0][1] for m in self.transfer(c, ["q"])["messages"]], [2, 0])

    def test_long_poll_times_out_empty(self):
        c = self.sw.connect("me")
        start = time.monotonic()
        t = self.transfer(c, ["empty"], timeout=0.5)
        elapsed = time.monotonic() - start
        self.assertEqual(t, {"messages": [], "next": "-1"})
        self.assertGreaterEqual(elapsed, 0.45)

    def test_send_releases_a_blocked_transfer_and_unrelated_changes_do_not(self):
        waiter = self.sw.connect("w")
        sender = self.sw.connect("s")
        sender.request("GET", "/persistent/q")
        sender.request("GET", "/persistent/other")
        waiter.send("POST", "/transfer", '{"timeout":20.0,"queues":["q"]}')
        sender.request("POST", "/request/other/s", "x")
        sender.request("GET", "/persistent/third")
        sender.request("GET", "/ack/q/99")
        with self.assertRaises(OSError):  # socket.timeout: still blocked
            waiter.read_response(timeout=0.3)
        start = time.monotonic()
        sender.request("POST", "/request/q/s", "go")
        status, _, body, _ = waiter.read_response(timeout=5)
        self.assertLess(time.monotonic() - start, 2.0)
        self.assertEqual(json.loads(body)["messages"][0][0], ["q", 0])

    def test_sessions_and_transient_cleanup(self):
        a = self.sw.connect("sess")
        b = self.sw.connect("sess")
        other = self.sw.connect("other")
        a.request("GET", "/transient/sess")
        a.close()
        # Only the last connection's close removes it; prove the switch saw the first close by
        # letting a later request on a fresh connection be answered first.
        self.sw.connect("x").request("GET", "/list/")
        self.assertIn("sess", json.loads(other.request("GET", "/list/")[1]))
        b.close()
        wait_until(lambda: "sess" not in json.loads(other.request("GET", "/list/")[1]),
                   what="the transient queue to go")
        self.assertEqual(other.request("POST", "/request/sess/other", "x"), (200, "[]"))

    def test_liveness(self):
        c = self.sw.connect("me")
        c.request("GET", "/persistent/svc.a")
        c.request("GET", "/persistent/svc.b")
        self.assertEqual(c.request("GET", "/list/alive/")[1], "[]")
        self.transfer(c, ["svc.a", "nosuch"])
        self.assertEqual(c.request("GET", "/list/alive/svc")[1], '["svc.a"]')
        self.assertEqual(c.request("GET", "/list/svc")[1], '["svc.b","svc.a"]')
        self.assertEqual(c.request("GET", "/list/alive")[1], "[]")  # prefix "alive"
        diag = json.loads(c.request("GET", "/")[1])
        self.assertIn("next_transfer_expected", diag["permanent_queues"]["svc.a"])
        self.assertNotIn("next_transfer_expected", diag["permanent_queues"]["svc.b"])

    def test_diagnostics_shape(self):
        c = self.sw.connect("me")
        c.request("GET", "/transient/me")
        for q in ("zeta", "alpha"):
            c.request("GET", "/persistent/" + q)
        c.request("POST", "/request/alpha/me", "one")
        c.request("POST", "/request/alpha/me", "two")
        status, body = c.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith('{"start_time":0,"current_time":'))
        self.assertIn('"permanent_queues":{"alpha":{"queue_contents":[[["alpha",1],'
                      '{"origin":["Name","me"],"time":', body)
        d = json.loads(body)
        self.assertEqual(list(d), ["start_time", "current_time", "permanent_queues",
                                   "transient_queues"])
        self.assertEqual(list(d["permanent_queues"]), ["alpha", "zeta"])
        self.assertEqual(list(d["transient_queues"]), ["me"])
        contents = d["permanent_queues"]["alpha"]["queue_contents"]
        self.assertEqual([e[1]["message"]["payload"] for e in contents], ["two", "one"])
        self.assertEqual(contents[0][1]["message"]["kind"], ["Request", "me"])


class Trace(SwitchCase):
    switch_args = ("--trace-entries", "4")

    def test_ring_keeps_the_last_entries_and_from_is_inclusive(self):
        c = self.sw.connect("me")
        c.request("GET", "/persistent/q")
        for i in range(6):
            c.request("POST", "/request/q/me", "m%d" % i)
        events = json.loads(c.request("GET", "/trace/0/0")[1])["events"]
        self.assertEqual([e[0] for e in events], [2, 3, 4, 5])
        self.assertEqual([e[0] for e in json.loads(c.request("GET", "/trace/4/0")[1])["events"]],
                         [4, 5])
        c.request("GET", "/ack/q/77")  # missing, still traced
        last = json.loads(c.request("GET", "/trace/6/0")[1])["events"]
        self.assertEqual(last, [[6, {"time": last[0][1]["time"], "input": "me", "queue": "q",
                                     "message": ["Ack", ["q", 77]]}]])

    def test_truncation_and_json_normalisation(self):
        c = self.sw.connect("me")
        c.request("GET", "/persistent/q")
        c.request("POST", "/request/q/me", '{ "k" : "%s", "n": [1, 2] }' % ("x" * 300))
        c.request("POST", "/request/q/me", "y" * 256)
        c.request("POST", "/request/q/me", "y" * 255)
        events = json.loads(c.request("GET", "/trace/0/0")[1])["events"]
        payloads = [e[1]["message"][2]["payload"] for e in events]
        self.assertEqual(payloads[0], '{"k":"%s…","n":[1,2]}' % ("x" * 256))
        self.assertEqual(payloads[1], "y" * 256 + "…")
        self.assertEqual(payloads[2], "y" * 255)

    def test_processing_time_only_while_the_request_is_queued(self):
        c = self.sw.connect("me")
        c.request("GET", "/persistent/svc")
        c.request("GET", "/transient/me")
        c.request("POST", "/request/svc/me", "call")
        c.request("POST", "/response/me/svc/0", "answer")
        c.request("POST", "/transfer", '{"timeout":0,"queues":["me"]}')
        delivered = json.loads(c.request("GET", "/trace/2/0")[1])["events"][0][1]
        self.assertEqual(delivered["output"], "me")
        self.assertIsInstance(delivered["processing_time"], int)
        c.request("GET", "/ack/svc/0")
        c.request("POST", "/transfer", '{"timeout":0,"queues":["me"]}')
        again = json.loads(c.request("GET", "/trace/0/0")[1])["events"][-1][1]
        self.assertNotIn("processing_time", again)

    def test_trace_long_poll(self):
        c = self.sw.connect("me")
        follower = self.sw.connect()
        follower.send("GET", "/trace/0/10")
        c.request("GET", "/persistent/q")
        c.request("POST", "/request/q/me", "x")
        status, _, body, _ = follower.read_response(timeout=5)
        self.assertEqual(json.loads(body)["events"][0][0], 0)


class Admin(SwitchCase):
    def test_cancel_reply_clear_delete(self):
        cli = self.sw.connect("cli:1")
        srv = self.sw.connect("srv:2")
        cli.request("GET", "/transient/cli:1")
        srv.request("GET", "/persistent/svc")
        srv.request("GET", "/transient/svc.cancel")
        cli.request("POST", "/request/svc/cli:1",
                    '{"jsonrpc":"2.0","method":"Volume.stat","params":{},"id":"abc"}')
        cli.request("POST", "/request/svc/cli:1", "plain")
        admin = self.sw.connect("admin")
        self.assertEqual(admin.request("POST", "/cancel/svc/0"), (200, ""))
        self.assertEqual(admin.request("POST", "/cancel/svc/0"), (404, "No such message"))
        reply = json.loads(cli.request("POST", "/transfer", '{"timeout":0,"queues":["cli:1"]}')[1])
        msg = reply["messages"][0][1]
        self.assertEqual(msg["kind"], ["Response", ["svc", 0]])
        err = json.loads(msg["payload"])
        self.assertEqual(err["id"], "abc")
        self.assertEqual(err["error"]["data"], ["Cancelled", "svc/0"])
        note = json.loads(srv.request("POST", "/transfer",
                                      '{"timeout":0,"queues":["svc.cancel"]}')[1])
        self.assertEqual(json.loads(note["messages"][0][1]["payload"]), {"queue": "svc", "id": 0})
        self.assertEqual(admin.request("POST", "/reply/svc/1", "by hand"), (200, ""))
        self.assertEqual(admin.request("POST", "/reply/svc/1", "again")[0], 404)
        got = json.loads(cli.request("POST", "/transfer",
                                     '{"from":"0","timeout":0,"queues":["cli:1"]}')[1])
        self.assertEqual(got["messages"][0][1]["payload"], "by hand")
        self.assertEqual(admin.request("POST", "/clear/cli:1"), (200, "2"))
        srv.request("POST", "/request/svc/srv:2", "x")
        self.assertEqual(admin.request("POST", "/delete/svc/2"), (200, ""))
        self.assertEqual(admin.request("POST", "/delete/svc/2"), (404, "No such message"))
        self.assertEqual(self.sw.connect().request("POST", "/clear/svc"), (404, "Please log in."))


class Lifecycle(unittest.TestCase):
    def test_help_lists_every_option(self):
        out = subprocess.run([SWITCH, "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        for opt in ("--path", "--pidfile", "--config", "--statedir", "--trace-entries",
                    "--trace-truncate", "--fsync", "--group", "--max-body-bytes",
                    "--max-queue-messages", "--max-connections"):
            self.assertIn(opt, out.stdout)

    def test_shutdown_socket_mode_and_pidfile(self):
        sw = Switch()
        self.addCleanup(sw.cleanup)
        sw.args = ["--pidfile", sw.dir + "/pid"]
        sw.start()
        self.assertEqual(stat.S_IMODE(os.stat(sw.path).st_mode), 0o600)
        with open(sw.dir + "/pid") as f:
            self.assertEqual(int(f.read()), sw.proc.pid)
        c = sw.connect()
        self.assertEqual(c.request("POST", "/shutdown"), (404, "Please log in."))
        c.request("GET", "/login/admin")
        self.assertEqual(c.request("POST", "/shutdown"), (200, ""))
        self.assertEqual(sw.proc.wait(timeout=10), 0)
        self.assertFalse(os.path.exists(sw.dir + "/pid"))

    @unittest.skipUnless(os.geteuid() == 0, "needs root to connect as another uid")
    def test_peer_credentials_are_checked(self):
        def connect_as(path, uid, gid):
            # A child that drops to uid/gid, connects and prints the first answer line.
            code = ("import os,socket\n"
                    "os.setgroups([]); os.setgid(%d); os.setuid(%d)\n"
                    "s=socket.socket(socket.AF_UNIX); s.connect(%r)\n"
                    "try: s.sendall(b'GET /login/x HTTP/1.1\\r\\n\\r\\n')\n"
                    "except BrokenPipeError: pass  # refused: the 403 is already there\n"
                    "print(s.recv(4096).split(b'\\r\\n')[0].decode())\n") % (gid, uid, path)
            out = subprocess.run(["python3", "-c", code], capture_output=True, text=True,
                                 timeout=10)
            return out.stdout.strip() or out.stderr.strip().splitlines()[-1]

        sw = Switch().start()
        self.addCleanup(sw.cleanup)
        os.chmod(sw.dir, 0o755)
        os.chmod(sw.path, 0o777)  # let the stranger reach the socket: SO_PEERCRED must stop it
        self.assertEqual(connect_as(sw.path, 65534, 65534), "HTTP/1.1 403 Forbidden")
        self.assertEqual(sw.connect().request("GET", "/login/root"), (200, ""))

        grouped = Switch("--group", "65534")
        self.addCleanup(grouped.cleanup)
        grouped.start()
        self.assertEqual(stat.S_IMODE(os.stat(grouped.path).st_mode), 0o660)
        self.assertEqual(os.stat(grouped.path).st_gid, 65534)
        os.chmod(grouped.dir, 0o755)
        self.assertEqual(connect_as(grouped.path, 65534, 65534), "HTTP/1.1 200 OK")
        self.assertIn("Permission denied", connect_as(grouped.path, 65533, 65533))  # mode 0660

    def test_sigterm_exits_cleanly(self):
        sw = Switch().start()
        self.addCleanup(sw.cleanup)
        self.assertEqual(sw.stop(), 0)

    def test_refuses_to_replace_a_regular_file(self):
        sw = Switch()
        self.addCleanup(sw.cleanup)
        open(sw.path, "w").close()
        out = subprocess.run([SWITCH, "--path", sw.path], capture_output=True, text=True,
                             timeout=10)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("exists and is not a socket", out.stderr)


if __name__ == "__main__":
    unittest.main()
