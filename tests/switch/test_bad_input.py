"""Bad input: each gets a clean error status or a close, and the switch keeps serving others."""

import json
import os
import socket
import unittest

from switch_harness import Conn, Switch


class BadInput(unittest.TestCase):
    switch_args = ("--max-body-bytes", "1024", "--max-queue-messages", "3",
                   "--max-connections", "100")

    def setUp(self):
        self.sw = Switch(*self.switch_args).start()
        self.addCleanup(self.sw.cleanup)
        self.good = self.sw.connect("good")
        self.good.request("GET", "/persistent/q")

    def assert_still_serving(self):
        self.assertEqual(self.good.request("GET", "/persistent/q"), (200, "q"))
        self.assertEqual(self.sw.connect("fresh").request("GET", "/list/q"), (200, '["q"]'))

    def test_garbage_bytes_get_400_and_close(self):
        for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                     b"GET / HTTP/1.1\r\nbad header\r\n\r\n", os.urandom(4096) + b"\r\n\r\n"):
            c = self.sw.connect()
            c.send_raw(junk)
            status, headers, body, _ = c.read_response()
            self.assertEqual(status, 400, junk)
            self.assertEqual(headers.get("connection"), "close")
            self.assertTrue(body)
            self.assertTrue(c.closed_by_peer())
        self.assert_still_serving()

    def test_truncated_requests_then_close(self):
        for part in (b"GET /login/x HTT", b"POST /request/q/x HTTP/1.1\r\nContent-Length: 100\r\n"
                     b"\r\nshort", b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"):
            c = self.sw.connect()
            c.send_raw(part)
            c.close()
        self.assert_still_serving()

    def test_oversized_body_gets_413(self):
        c = self.sw.connect("big")
        status, body = c.request("POST", "/request/q/big", b"x" * 1025)
        self.assertEqual(status, 413)
        self.assertEqual(body, "request body exceeds 1024 bytes")
        self.assertEqual(self.sw.connect("ok").request("POST", "/request/q/ok", b"x" * 1024)[0], 200)
        self.assert_still_serving()

    def test_oversized_header_gets_431(self):
        c = self.sw.connect()
        c.send_raw(b"GET / HTTP/1.1\r\nX: " + b"a" * 70000)
        self.assertEqual(c.read_response()[0], 431)
        self.assert_still_serving()

    def test_bad_ids_and_transfer_json(self):
        c = self.good
        for target in ("/ack/q/x", "/ack/q/1.5", "/ack/q/99999999999999999999", "/ack/q/"):
            self.assertEqual(c.request("GET", target)[0], 500, target)
        self.assertEqual(c.request("POST", "/response/q/q/zz", "x")[0], 500)
        self.assertEqual(c.request("GET", "/trace/abc/1")[0], 500)
        for body in ("", "not json", "[]", '{"queues":["q"]}', '{"timeout":1}',
                     '{"timeout":"x","queues":["q"]}', '{"timeout":1,"queues":"q"}',
                     '{"timeout":1,"queues":[1]}', '{"from":"x","timeout":1,"queues":["q"]}',
                     "[" * 1000):
            status, text = c.request("POST", "/transfer", body)
            self.assertEqual(status, 500, body[:40])
            self.assertTrue(text.startswith("Error: Internal Server Error"), text)
        # Lenient where the reference is: key case, unknown keys, numeric strings.
        status, text = c.request("POST", "/transfer",
                                 '{"FROM":"-1","Timeout":"0","queues":["q"],"extra":1}')
        self.assertEqual((status, text), (200, '{"messages":[],"next":"-1"}'))
        self.assert_still_serving()

    def test_names_with_slash_dots_and_bad_escapes(self):
        c = self.good
        self.assertEqual(c.request("GET", "/persistent/a%2Fb"),
                         (400, "Bad queue name \"a/b\": '/' is not allowed in names"))
        self.assertEqual(c.request("GET", "/persistent/..")[0], 400)
        self.assertEqual(c.request("GET", "/persistent/%2E%2E")[0], 400)
        self.assertEqual(c.request("GET", "/persistent/a/b")[0], 404)
        self.assertEqual(c.request("GET", "/persistent/bad%zz")[0], 400)
        self.assertEqual(c.request("GET", "/persistent/ctl%0A")[0], 400)
        self.assertEqual(c.request("POST", "/request/q/x%2Fy", "m")[0], 400)
        self.assertEqual(c.request("GET", "/admin/..%2F..%2Fetc%2Fpasswd")[0], 404)
        self.assertEqual(c.request("GET", "/persistent/with%20space"), (200, "with space"))
        self.assertNotIn("a/b", c.request("GET", "/list/")[1])
        self.assert_still_serving()

    def test_queue_limit_refuses_sends(self):
        c = self.good
        for i in range(3):
            self.assertEqual(c.request("POST", "/request/q/good", "m")[0], 200)
        status, body = c.request("POST", "/request/q/good", "m")
        self.assertEqual(status, 507)
        self.assertEqual(body, "Queue q is full: it holds 3 messages (--max-queue-messages)")
        c.request("GET", "/ack/q/0")
        self.assertEqual(c.request("POST", "/request/q/good", "m"), (200, '[["q",3]]'))

    def test_flood_of_connections(self):
        conns = []
        refused = 0
        for _ in range(150):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(10)
            s.connect(self.sw.path)
            conns.append(s)
        for s in conns:
            try:
                s.sendall(Conn.frame("GET", "/login/flood"))
            except (BrokenPipeError, ConnectionResetError):
                pass  # a refused connection may be closed already; its 503 is still readable
        for s in conns:
            data = b""
            while b"\r\n\r\n" not in data:
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"HTTP/1.1 503"):
                refused += 1
                self.assertIn(b"Too many connections", data)
            else:
                self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)
        # 100 allowed, minus the one the test already holds.
        self.assertEqual(refused, 150 - 99)
        for s in conns:
            s.close()
        self.assert_still_serving()


if __name__ == "__main__":
    unittest.main()
