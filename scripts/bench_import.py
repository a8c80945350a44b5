"""Benchmark: call list import (호출자료 올리기), end to end.

Generates, in a temporary folder, a 100,000-row .xlsx and a 1,000,000-row
UTF-8 .csv (이름, 전화번호, 주소; mixed number formats, ~2% invalid, ~1%
duplicates), then imports each into a fresh project database (the real
schema, WAL) through the same code as ``ars import-contacts``: store the
source by hash, read, normalise, de-duplicate, store the contacts in one
transaction, write the rejects .xlsx. Generating the files is not timed.

Targets: xlsx 100k < 3 s, csv 1M < 10 s.

Prints a human line per file, then one JSON line last, and writes the JSON
report (with per-stage details) to --report (default bench-import.json).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server import db  # noqa: E402
from server.contacts import importer  # noqa: E402
from server.storage import UploadStore  # noqa: E402

SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진나지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감음빈동온호범좌"
GIVEN = "민서지현준우하윤도영수진예은성호재혁유나연정훈동희승아태경소영주원채시가"
CITIES = [
    ("서울특별시", ["강남구", "종로구", "마포구", "송파구", "노원구"]),
    ("부산광역시", ["해운대구", "수영구", "사하구"]),
    ("경기도", ["수원시 팔달구", "성남시 분당구", "고양시 일산동구"]),
    ("대구광역시", ["중구", "수성구"]),
    ("광주광역시", ["서구", "북구"]),
]
ROADS = ["테헤란로", "세종대로", "해운대로", "중앙로", "시청로", "동성로", "금남로", "효원로"]
INVALID = ["010-123", "없음", "", "+1 212 555 0100", "099-123-4567", "010-1234-56789", "abc", "02-12"]


def make_rows(n: int, seed: int, numeric_cells: bool):
    """(name, phone, address) rows: ~2% invalid, ~1% duplicates, mixed formats."""
    rnd = random.Random(seed)
    subscribers = rnd.sample(range(10**8), n)
    rows = []
    for i in range(n):
        name = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)
        city, districts = rnd.choice(CITIES)
        address = f"{city} {rnd.choice(districts)} {rnd.choice(ROADS)} {rnd.randint(1, 999)}"
        r = rnd.random()
        if r < 0.02:
            phone = rnd.choice(INVALID)
        elif r < 0.03 and i > 0:
            sub = subscribers[rnd.randrange(max(1, i))]  # a number seen before (maybe invalid there)
            phone = f"010{sub:08d}"
        else:
            sub = subscribers[i]
            a, b = divmod(sub, 10000)
            f = rnd.random()
            if f < 0.50:
                phone = f"010-{a:04d}-{b:04d}"
            elif f < 0.70:
                phone = f"010{a:04d}{b:04d}"
            elif f < 0.78:
                phone = f"+82 10-{a:04d}-{b:04d}"
            elif f < 0.83:
                phone = f"010 {a:04d} {b:04d}"
            elif f < 0.87:
                phone = f"010.{a:04d}.{b:04d}"
            elif f < 0.92:
                phone = f"0{rnd.choice([2, 31, 51, 62])}-{a % 1000 + 200:03d}-{b:04d}" if f < 0.90 else f"070-{a:04d}-{b:04d}"
            else:
                # a mobile number whose leading zero Excel dropped
                phone = int(f"10{a:04d}{b:04d}") if numeric_cells else f"10{a:04d}{b:04d}"
        rows.append((name, phone, address))
    return rows


def write_xlsx(path: Path, rows) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("호출자료")
    ws.append(["이름", "전화번호", "주소"])
    for row in rows:
        ws.append(row)
    wb.save(path)


def write_csv(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("이름,전화번호,주소\n")
        fh.writelines(f"{n},{p},{a}\n" for n, p, a in rows)


def run_one(path: Path, workdir: Path) -> dict:
    db_path = workdir / f"{path.stem}.db"
    db.init_db(db_path)
    store = db.connect(db_path)
    uploads = UploadStore(workdir / "uploads")
    stages: dict[str, float] = {}
    last = {"stage": None, "at": 0.0}

    def progress(stage, fraction):
        now = time.perf_counter()
        if stage != last["stage"]:
            if last["stage"] is not None:
                stages[last["stage"]] = stages.get(last["stage"], 0.0) + now - last["at"]
            last.update(stage=stage, at=now)

    gc.collect()
    t0 = time.perf_counter()
    result = importer.import_file(store, uploads, path, name=path.stem, progress=progress)
    t1 = time.perf_counter()
    if last["stage"] is not None:
        stages[last["stage"]] = stages.get(last["stage"], 0.0) + t1 - last["at"]
    in_db = store.execute("SELECT count(*) FROM contact").fetchone()[0]
    store.conn.close()
    assert in_db == result.imported, (in_db, result.imported)
    return {
        "file": path.name,
        "bytes": path.stat().st_size,
        **result.summary(),
        "seconds": round(t1 - t0, 3),
        "stages": {k: round(v, 3) for k, v in stages.items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", default="bench-import.json", help="JSON report path")
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        xlsx = tmp / "list-100k.xlsx"
        write_xlsx(xlsx, make_rows(args.xlsx_rows, args.seed, numeric_cells=True))
        csv_path = tmp / "list-1m.csv"
        write_csv(csv_path, make_rows(args.csv_rows, args.seed + 1, numeric_cells=False))
        print(f"generated test files in {time.perf_counter() - t:.1f} s (not measured)", flush=True)

        results = {}
        for kind, path in (("xlsx", xlsx), ("csv", csv_path)):
            r = run_one(path, tmp)
            results[kind] = r
            print(
                f"{kind:4s} {r['rows']:>9,} rows  imported {r['imported']:>9,}  invalid {r['invalid']:>6,}  "
                f"duplicates {r['duplicates']:>6,}  {r['seconds']:6.2f} s  "
                + ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items()),
                flush=True,
            )

    summary = {
        "xlsx_rows": results["xlsx"]["rows"],
        "xlsx_seconds": results["xlsx"]["seconds"],
        "csv_rows": results["csv"]["rows"],
        "csv_seconds": results["csv"]["seconds"],
    }
    report = {
        **summary,
        "targets": {"xlsx_seconds": 3.0, "csv_seconds": 10.0},
        "details": results,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "sqlite": sqlite3.sqlite_version, "platform": platform.platform()},
    }
    Path(args.report).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
