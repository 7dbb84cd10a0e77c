"""Fetch axe-core (the accessibility engine the browser tests run inside Chromium) from the npm
registry, pinned and checked against the registry's sha512, without needing Node.js or npm:
a fresh machine has Python and the registries, nothing more."""
import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "4.11.0"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
INTEGRITY = "sha512-ilYanEU8vxxBexpJd8cWM4ElSQq4QctCLKih0TSfjIfCQTeyH/6zVrmIJfLPrKTKJRbiG+cfnZbQIjAlJmF1jQ=="
TARGET = Path(__file__).parent / "node_modules" / "axe-core"
WANTED = {"package/axe.min.js": "axe.min.js", "package/LICENSE": "LICENSE", "package/package.json": "package.json"}


def main() -> int:
    with urllib.request.urlopen(TARBALL, timeout=60) as answer:
        data = answer.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        print(f"axe-core {VERSION}: the download does not match the registry's checksum", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member, name in WANTED.items():
            (TARGET / name).write_bytes(archive.extractfile(member).read())
    print(f"axe-core {VERSION} in {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
