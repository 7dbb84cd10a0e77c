"""Facts about the machine a benchmark ran on, stored beside its figures."""
import os
import platform
import subprocess
from datetime import datetime, timezone


def _first_line(*command) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def facts() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_kb = 0
    try:
        with open("/proc/meminfo") as handle:
            memory_kb = int(next(line.split()[1] for line in handle if line.startswith("MemTotal")))
    except (OSError, StopIteration):
        pass
    return {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(), "cpu": cpu, "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(), "system": platform.platform(),
        "postgresql": _first_line("psql", "--version"),
        "pgbench": _first_line("pgbench", "--version"),
    }
