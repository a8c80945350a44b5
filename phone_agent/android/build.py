"""Build the phone's audio helper jar from its smali sources.

    python -m phone_agent.android.build            # or scripts/build-helper
    python -m phone_agent.android.build --if-changed   # only when the sources changed

Steps, each failing with a message that names what is wrong:

1. the tools: ``smali`` and ``baksmali`` (Debian ``libsmali-java``) and
   ``dexdump`` (Debian ``dexdump``); nothing is downloaded and no Android SDK
   is used;
2. ``smali assemble --api 29`` turns ``smali/mobilears/*.smali`` into one
   ``classes.dex`` (API 29 = Android 10, the oldest release the backend drives);
3. ``dexdump`` (which also verifies the dex file's structure) must list every
   class and method the backend calls (:data:`REQUIRED`) and the version
   line :data:`~phone_agent.android.VERSION_LINE`;
4. ``baksmali --register-info`` annotates every instruction with its
   registers' types, and :func:`~phone_agent.android.registers.unsafe_reads`
   finds reads of unset or conflicting registers (Android's verifier would
   reject the class on the phone);
5. the jar is a zip holding ``classes.dex`` alone, stored uncompressed with
   the zip's earliest timestamp (1980-01-01), so the same sources always give
   the same bytes and the same SHA-256.

The jar goes to :data:`~phone_agent.android.BUILT_JAR` (``dist/``, not in
git) with ``mobile-ars-audio.jar.json`` beside it: its size, SHA-256 and the
SHA-256 of the sources it was built from.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import BUILT_JAR, HELPER_CLASS, SOURCES, VERSION_LINE
from .registers import unsafe_reads

__all__ = ["API_LEVEL", "BuildError", "Built", "REQUIRED", "build", "dex_methods", "ensure_built",
           "missing_tools", "sources_digest"]

API_LEVEL = 29
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
TOOLS = ("smali", "baksmali", "dexdump")  # Debian: libsmali-java has the first two
INSTALL = "apt-get install libsmali-java dexdump"

# What the backend runs: the entry point and the three commands behind it.
REQUIRED = {
    "L" + HELPER_CLASS.replace(".", "/") + ";": {"main"},
    "Lmobilears/Play;": {"run", "play"},
    "Lmobilears/Record;": {"run"},
    "Lmobilears/Speaker;": {"on"},
}


class BuildError(Exception):
    """The helper could not be built; the message says why."""


@dataclass(frozen=True)
class Built:
    path: Path
    size: int
    sha256: str
    sources_sha256: str


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def _require_tools() -> None:
    missing = missing_tools()
    if missing:
        raise BuildError(f"cannot build the audio helper: {', '.join(missing)} not installed "
                         f"({INSTALL})")


def sources_digest(sources: Path = SOURCES) -> str:
    """SHA-256 over the smali files' names and contents."""
    h = hashlib.sha256()
    for path in sorted(sources.rglob("*.smali")):
        h.update(path.relative_to(sources).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _run(args: list[str], what: str, quiet: bool = False) -> str:
    """The tool's output; BuildError with what it said when it failed (or,
    ``quiet``, said anything on stderr: smali 2.5.2 reports syntax errors
    there and exits 0 without writing the dex)."""
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0 or (quiet and done.stderr.strip()):
        detail = (done.stderr or done.stdout).strip()
        raise BuildError(f"{what} failed ({' '.join(args[:2])}): {detail}")
    return done.stdout


def dex_methods(dump: str) -> dict[str, set[str]]:
    """Class descriptor -> method names, from ``dexdump`` output."""
    classes: dict[str, set[str]] = {}
    current = None
    in_methods = False
    for line in dump.splitlines():
        m = re.match(r"\s*Class descriptor\s*:\s*'([^']+)'", line)
        if m:
            current, in_methods = m.group(1), False
            classes[current] = set()
            continue
        if re.match(r"\s*(Direct|Virtual) methods\s*-", line):
            in_methods = True
            continue
        if re.match(r"\s*(Static|Instance) fields\s*-", line):
            in_methods = False
            continue
        m = re.match(r"\s*name\s*:\s*'([^']+)'", line)
        if m and current and in_methods:
            classes[current].add(m.group(1))
    return classes


def _check_dex(dex: Path) -> None:
    dump = _run(["dexdump", "-d", str(dex)], "dexdump")
    classes = dex_methods(dump)
    for cls, methods in REQUIRED.items():
        if cls not in classes:
            raise BuildError(f"the built dex lacks class {cls} (dexdump lists {sorted(classes)})")
        lacking = methods - classes[cls]
        if lacking:
            raise BuildError(f"the built dex's {cls} lacks {sorted(lacking)}")
    if f'"{VERSION_LINE}"' not in dump:
        raise BuildError(f"the helper's sources do not print {VERSION_LINE!r} "
                         "(HELPER_VERSION in phone_agent/android/__init__.py and Audio.smali disagree)")


def _check_registers(dex: Path, work: Path) -> None:
    out = work / "annotated"
    # -b "": no Android boot classpath here; the analysis of our own registers does not need it.
    _run(["baksmali", "disassemble", "--register-info", "ALL,FULLMERGE", "-b", "", "-o", str(out), str(dex)],
         "baksmali")
    problems = []
    for path in sorted(out.rglob("*.smali")):
        problems += [f"{path.name} {p}" for p in unsafe_reads(path.read_text())]
    if problems:
        raise BuildError("the helper reads unset or conflicting registers (Android would refuse it):\n  "
                         + "\n  ".join(problems))


def _pack(dex_bytes: bytes, jar: Path) -> bytes:
    info = zipfile.ZipInfo("classes.dex", ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    info.create_system = 3  # Unix, whatever the building machine
    buffer = jar.with_suffix(".tmp")
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(info, dex_bytes)
    data = buffer.read_bytes()
    os.replace(buffer, jar)
    return data


def build(jar: Path = BUILT_JAR, sources: Path = SOURCES) -> Built:
    """Assemble, check and pack the helper; see the module docstring."""
    _require_tools()
    if not any(sources.rglob("*.smali")):
        raise BuildError(f"no smali sources under {sources}")
    digest = sources_digest(sources)
    jar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mobile-ars-helper-") as tmp:
        work = Path(tmp)
        dex = work / "classes.dex"
        _run(["smali", "assemble", "--api", str(API_LEVEL), "--jobs", "1", "-o", str(dex), str(sources)],
             "smali", quiet=True)
        if not dex.is_file():
            raise BuildError(f"smali wrote no dex file from {sources}")
        _check_dex(dex)
        _check_registers(dex, work)
        data = _pack(dex.read_bytes(), jar)
    built = Built(jar, len(data), hashlib.sha256(data).hexdigest(), digest)
    _record(built).write_text(json.dumps({"size": built.size, "sha256": built.sha256,
                                          "sources_sha256": digest}, indent=1) + "\n")
    return built


def _record(built_or_jar) -> Path:
    jar = built_or_jar.path if isinstance(built_or_jar, Built) else built_or_jar
    return jar.with_name(jar.name + ".json")


def ensure_built(jar: Path = BUILT_JAR, sources: Path = SOURCES) -> Built:
    """The jar, built again only when it is missing or its sources changed."""
    record = _record(jar)
    if jar.is_file() and record.is_file():
        with_ = json.loads(record.read_text())
        data = jar.read_bytes()
        if (with_.get("sources_sha256") == sources_digest(sources)
                and with_.get("sha256") == hashlib.sha256(data).hexdigest()):
            return Built(jar, len(data), with_["sha256"], with_["sources_sha256"])
    return build(jar, sources)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phone_agent.android.build",
                                     description="Build the phone's audio helper jar from its smali sources.")
    parser.add_argument("--out", type=Path, default=BUILT_JAR, help=f"the jar to write (default {BUILT_JAR})")
    parser.add_argument("--if-changed", action="store_true",
                        help="do nothing when the jar is there and its sources have not changed")
    parser.add_argument("--if-tools", action="store_true",
                        help="skip quietly (exit 0) when smali or dexdump is not installed")
    args = parser.parse_args(argv)
    if args.if_tools and missing_tools():
        print(f"audio helper not built: {', '.join(missing_tools())} not installed ({INSTALL})",
              file=sys.stderr)
        return 0
    try:
        built = ensure_built(args.out) if args.if_changed else build(args.out)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{built.path} {built.size} bytes sha256 {built.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
