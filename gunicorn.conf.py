"""Procomún's production settings for gunicorn: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Threaded workers, two per core: a co-op's till or an official's browser keeps its connection
open between requests (sync workers close it after every answer), and the threads of a worker
wait on the database together. A worker's threads share one interpreter lock, so the
connections a worker holds share one core: with two workers per core the kernel can give each
busy worker a core of its own, whichever worker the connections landed on (bench/README.md,
"The next morning's pass": four clients on two cores, p95 lower in 30 of 48 page measures).
The benchmarks serve the app, and its floor, with these very settings
(bench/common.py:production_settings). Each can be overridden from the environment."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 8))  # 16 database connections a core, as before
keepalive = 75      # seconds an idle client's connection stays open (behind a proxy: longer than its own)
# Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections over
# them. On one shared socket the worker that happens to be awake takes every connection that
# arrives at once, and a kept-alive connection stays with the worker that took it: four browsers
# or tills on one of two workers got one core between them while the other idled (a page's p95
# under 4 clients 60-64 ms instead of 34-41 ms, bench/README.md). GUNICORN_REUSE_PORT=0 shares one
# socket again (systemd socket activation needs that).
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1") != "0"
backlog = 2048
# Each thread needs its own database connection: below that a busy worker opens and closes them.
raw_env = [] if "DATABASE_POOL_SIZE" in os.environ else [f"DATABASE_POOL_SIZE={threads}"]
