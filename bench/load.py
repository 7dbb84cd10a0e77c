"""A small HTTP/1.1 load generator on asyncio: N keep-alive connections on
loopback, each sending the next request as soon as the previous answer is
read, for a fixed time. Pure Python, so it runs wherever the project does;
it spends far less CPU per request than the Flask app it drives."""
import asyncio
import json
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    duration: float
    statuses: dict = field(default_factory=dict)
    latencies: list = field(default_factory=list)
    errors: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def per_second(self) -> float:
        return self.requests / self.duration if self.duration else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def summary(self) -> dict:
        return {"requests": self.requests, "per_second": round(self.per_second, 1),
                "p50_ms": round(self.percentile(50), 2), "p95_ms": round(self.percentile(95), 2),
                "p99_ms": round(self.percentile(99), 2), "statuses": self.statuses,
                "connection_errors": self.errors, "duration_s": round(self.duration, 2)}


async def _read_response(reader) -> tuple[int, bool]:
    """The status, and whether the server closes the connection after this answer."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length = 0
    close = status_line.startswith(b"HTTP/1.0")
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "connection":
            close = value.strip().lower() == "close"
    if length:
        await reader.readexactly(length)
    return status, close


async def _client(host, port, make_request, deadline, result: LoadResult, index: int, timeout: float):
    reader = writer = None
    n = 0
    while time.perf_counter() < deadline:
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                result.errors += 1
                await asyncio.sleep(0.05)
                continue
        method, path, headers, body = make_request(index, n)
        n += 1
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive",
                f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in headers.items()]
        started = time.perf_counter()
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
            await writer.drain()
            status, close = await asyncio.wait_for(_read_response(reader), timeout)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError,
                asyncio.TimeoutError):
            result.errors += 1
            writer.close()
            reader = writer = None
            continue
        result.latencies.append(time.perf_counter() - started)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if close:  # e.g. gunicorn's sync workers: one request per connection, not an error
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _run(host, port, make_request, connections, seconds, timeout) -> LoadResult:
    result = LoadResult(duration=seconds)
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*[_client(host, port, make_request, deadline, result, i, timeout) for i in range(connections)])
    result.duration = time.perf_counter() - start
    return result


def run_load(host: str, port: int, make_request, *, connections: int = 32, seconds: float = 10.0,
             timeout: float = 60.0) -> LoadResult:
    """make_request(client_index, n) -> (method, path, headers, json_body_or_None).
    An answer slower than `timeout` seconds counts as an error (its connection is dropped)."""
    return asyncio.run(_run(host, port, make_request, connections, seconds, timeout))
