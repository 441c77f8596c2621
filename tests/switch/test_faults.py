"""Faults: kill -9 with a state directory, torn journals, clients dying mid-call."""

import json
import os
import subprocess
import unittest

from switch_harness import SWITCH, Switch, wait_until


def transfer(c, queues, frm=None, timeout=0.0):
    req = {"timeout": timeout, "queues": queues}
    if frm is not None:
        req["from"] = frm
    status, body = c.request("POST", "/transfer", json.dumps(req), timeout=timeout + 10)
    assert status == 200, body
    return json.loads(body)


class Persistence(unittest.TestCase):
    def fill(self, sw):
        c = sw.connect("producer")
        c.request("GET", "/persistent/a")
        c.request("GET", "/persistent/b")
        for i in range(50):
            c.request("POST", "/request/a/producer", "a%d" % i)
        for i in range(5):
            c.request("POST", "/request/b/producer", json.dumps({"method": "m", "id": i}))
        for i in range(0, 50, 2):
            c.request("GET", "/ack/a/%d" % i)
        c.request("GET", "/ack/b/4")  # the newest of b: its id must not come back
        return c

    def check_restored(self, sw):
        c = sw.connect("after")
        got = transfer(c, ["a"])
        self.assertEqual([m[0][1] for m in got["messages"]], list(range(49, 0, -2)))
        self.assertEqual(got["messages"][0][1]["message" if False else "payload"], "a49")
        self.assertEqual([m[0][1] for m in transfer(c, ["b"])["messages"]], [3, 2, 1, 0])
        self.assertEqual(c.request("POST", "/request/a/after", "new")[1], '[["a",50]]')
        self.assertEqual(c.request("POST", "/request/b/after", "new")[1], '[["b",5]]')

    def test_kill9_then_restart_keeps_every_unacked_message(self):
        for extra in ([], ["--fsync"]):
            with self.subTest(args=extra):
                sw = Switch(*extra, statedir=True).start()
                self.addCleanup(sw.cleanup)
                self.fill(sw)
                sw.kill9()
                sw.start()
                self.check_restored(sw)
                diag = json.loads(sw.connect().request("GET", "/")[1])
                self.assertEqual(diag["permanent_queues"]["a"]["queue_contents"][1][1]["origin"],
                                 ["Name", "producer"])
                # And once more, after the restarted switch wrote its own records.
                sw.kill9()
                sw.start()
                c = sw.connect("again")
                self.assertEqual(c.request("POST", "/request/a/again", "x")[1], '[["a",51]]')

    def test_torn_journal_tail_is_tolerated(self):
        sw = Switch(statedir=True).start()
        self.addCleanup(sw.cleanup)
        self.fill(sw)
        sw.kill9()
        with open(os.path.join(sw.statedir, "journal.0"), "ab") as f:
            f.write(b"\x50\x00\x00\x00\x01\x02\x03partial record")
        sw.start()
        self.check_restored(sw)
        self.assertIn("incomplete record", sw.logtext())

    def test_clean_stop_and_config_file_statedir(self):
        sw = Switch()
        self.addCleanup(sw.cleanup)
        state = os.path.join(sw.dir, "st")
        os.mkdir(state)
        conf = os.path.join(sw.dir, "switch.conf")
        with open(conf, "w") as f:
            f.write("((path %s)(pidfile())(configfile())(statedir (%s)))\n" % (sw.path, state))
        sw.args = ["--config", conf]
        sw.start()
        self.fill(sw)
        self.assertEqual(sw.stop(), 0)
        sw.start()
        self.check_restored(sw)

    def test_missing_statedir_is_an_error(self):
        out = subprocess.run([SWITCH, "--path", "/tmp/unused.sock", "--statedir", "/nonexistent/x"],
                             capture_output=True, text=True, timeout=10)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("/nonexistent/x does not exist", out.stderr)

    def test_restored_transient_queue_survives_its_owner_logging_in_again(self):
        sw = Switch(statedir=True).start()
        self.addCleanup(sw.cleanup)
        c = sw.connect("client:1")
        c.request("GET", "/transient/client:1")
        c.request("POST", "/request/client:1/client:1", "reply")
        sw.kill9()
        sw.start()
        c = sw.connect("client:1")
        self.assertEqual(len(transfer(c, ["client:1"])["messages"]), 1)


class DyingClients(unittest.TestCase):
    def test_client_dying_mid_call_leaves_no_stuck_state(self):
        sw = Switch().start()
        self.addCleanup(sw.cleanup)
        server = sw.connect("srv:1")
        server.request("GET", "/persistent/svc")
        client = sw.connect("cli:2")
        events = sw.connect("cli:2")
        client.request("GET", "/transient/cli:2")
        client.request("POST", "/request/svc/cli:2", "call")
        events.send("POST", "/transfer", '{"timeout":30.0,"queues":["cli:2"]}')
        client.close()
        events.close()  # the caller dies with its long-poll parked
        observer = sw.connect("obs")
        wait_until(lambda: "cli:2" not in json.loads(observer.request("GET", "/list/")[1]),
                   what="the dead caller's reply queue to go")
        # The server still sees the request and its reply is dropped, not stuck.
        req = transfer(server, ["svc"])["messages"][0]
        self.assertEqual(server.request("POST", "/response/cli:2/svc/%d" % req[0][1], "r"),
                         (200, "[]"))
        self.assertEqual(server.request("GET", "/ack/svc/0"), (200, ""))
        self.assertEqual(json.loads(observer.request("GET", "/")[1])["permanent_queues"]["svc"]
                         ["queue_contents"], [])

    def test_abrupt_close_with_pipelined_requests(self):
        sw = Switch().start()
        self.addCleanup(sw.cleanup)
        for _ in range(20):
            c = sw.connect()
            c.send_raw(b"GET /login/x HTTP/1.1\r\n\r\nPOST /transfer HTTP/1.1\r\nContent-Length: 40"
                       b"\r\n\r\n{\"timeout\":30.0,\"queues\":[\"x\"]}")
            c.close()
        ok = sw.connect("ok")
        self.assertEqual(ok.request("GET", "/persistent/q"), (200, "q"))


if __name__ == "__main__":
    unittest.main()
