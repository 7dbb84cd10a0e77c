"""Procomún's production settings for gunicorn: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Threaded workers, one per core: a co-op's till or an official's browser keeps its connection
open between requests (sync workers close it after every answer), and the threads of a worker
wait on the database together. The benchmarks serve the app, and its floor, with these very
settings (bench/common.py:production_settings). Each can be overridden from the environment."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 16))
keepalive = 75      # seconds an idle client's connection stays open (behind a proxy: longer than its own)
backlog = 2048
# Each thread needs its own database connection: below that a busy worker opens and closes them.
raw_env = [] if "DATABASE_POOL_SIZE" in os.environ else [f"DATABASE_POOL_SIZE={threads}"]
