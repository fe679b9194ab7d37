"""A loopback OpenAI-compatible chat server for tests: streams its reply token by token as SSE.

It answers POST /v1/chat/completions like the real API (stream or not, at most `max_tokens` of the
reply with finish_reason "length" when that cuts it), keeps every request body
so a test can check what the model was sent (persona, earlier turns), and can be told to fail
with an HTTP status or to stall past the client's timeout.
"""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAIServer:
    def __init__(self, reply: str = "Hello there. I am the guide!", status: int = 200, delay: float = 0.0,
                 token_delay: float = 0.0, error_message: str = "the fake server was told to fail", malformed: bool = False):
        """`error_message` may name `{key}`, the key the request carried (some servers echo it);
        `malformed`: the stream's first event is not JSON."""
        self.reply, self.status, self.delay, self.token_delay = reply, status, delay, token_delay
        self.error_message, self.malformed = error_message, malformed
        self.requests: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def __enter__(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def tokens(self) -> list[str]:
        # Words with their following space, and Chinese characters one by one, like a real tokenizer.
        return re.findall(r"[\u4e00-\u9fff]|[^\s\u4e00-\u9fff]+\s*|\s+", self.reply)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): nothing left to send

            def _answer(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append({"path": self.path, "body": body, "authorization": self.headers.get("Authorization", "")})
                if fake.delay:
                    time.sleep(fake.delay)
                if self.path != "/v1/chat/completions":
                    return self._json(404, {"error": {"message": "not found"}})
                if fake.status != 200:
                    key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    return self._json(fake.status, {"error": {"message": fake.error_message.format(key=key), "type": "server_error"}})
                # As the real API: at most max_tokens of the reply, and "length" when that cut it short.
                tokens = fake.tokens()
                limit = body.get("max_tokens") or len(tokens)
                finish = "length" if len(tokens) > limit else "stop"
                tokens = tokens[:limit]
                if not body.get("stream"):
                    return self._json(200, {"id": "fake", "object": "chat.completion", "created": 0, "model": body.get("model"),
                                            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(tokens)},
                                                         "finish_reason": finish}]})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                if fake.malformed:
                    self.wfile.write(b"data: {not json\n\n")
                for token in tokens:
                    self._event({"content": token}, None, body)
                    if fake.token_delay:
                        time.sleep(fake.token_delay)
                self._event({}, finish, body)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, delta, finish, body):
                chunk = {"id": "fake", "object": "chat.completion.chunk", "created": 0, "model": body.get("model"),
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
