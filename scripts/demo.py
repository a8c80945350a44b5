"""Set up a demo database with sample data and run the server on loopback.

Called by ``scripts/demo``. Everything sample is generated here (no files
downloaded): a call list with some bad rows, announcements in formats that
need converting, and two images.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from openpyxl import Workbook
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import contacts_import, db  # noqa: E402
from server.media import audio, images  # noqa: E402
from server.security import hash_secret  # noqa: E402
from server.storage import UploadStore  # noqa: E402

DEMO_ID = "demo"
DEMO_PASSWORD = "demo-pass-2026"
DEMO_PIN = "1234"

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["민준", "서연", "도윤", "하은", "시우", "지유", "주원", "서윤", "예준", "지민", "현우", "수아"]
DISTRICTS = ["행복대로", "누리로", "한누리대로", "가름로", "도움로", "보듬로"]


def sample_call_list(path: Path, rows: int = 300, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    wb = Workbook()
    ws = wb.active
    ws.append(["이름", "전화번호", "주소", "비고"])
    numbers = []
    for i in range(rows):
        name = SURNAMES[rng.integers(len(SURNAMES))] + GIVEN[rng.integers(len(GIVEN))]
        number = f"010-{rng.integers(2000, 9999)}-{rng.integers(0, 9999):04d}"
        if i % 50 == 7:
            number = "010-12"                      # too short: reported as invalid
        elif i % 60 == 11 and numbers:
            number = numbers[-1]                   # a duplicate
        numbers.append(number)
        address = f"세종특별자치시 {DISTRICTS[rng.integers(len(DISTRICTS))]} {rng.integers(1, 300)}"
        ws.append([name, number, address, "지지자" if rng.random() < 0.2 else ""])
    wb.save(path)


def sample_announcement(seconds: float, notes: list[float], rate: int = 44100) -> bytes:
    """A stereo 44.1 kHz float WAV (so the console shows a conversion)."""
    t = np.arange(int(seconds * rate)) / rate
    step = len(t) // len(notes)
    signal = np.zeros_like(t)
    for i, freq in enumerate(notes):
        part = slice(i * step, (i + 1) * step)
        envelope = np.hanning(step)
        signal[part] = 0.3 * np.sin(2 * np.pi * freq * t[part]) * envelope[: len(t[part])]
    stereo = np.stack([signal, signal * 0.9], axis=1)
    buffer = io.BytesIO()
    sf.write(buffer, stereo, rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def sample_image(title: str, colour: tuple[int, int, int], size=(1080, 1920)) -> bytes:
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    draw.rectangle([60, 60, size[0] - 60, size[1] - 60], outline=(255, 255, 255), width=12)
    draw.ellipse([size[0] // 2 - 260, 360, size[0] // 2 + 260, 880], fill=(255, 255, 255))
    draw.text((120, 1100), title, fill=(255, 255, 255), font_size=96)
    draw.text((120, 1260), "No. 1", fill=(255, 230, 0), font_size=160)
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def seed(db_path: Path, uploads_dir: Path) -> None:
    db.init_db(db_path)
    store = db.connect(db_path)
    files = UploadStore(uploads_dir)
    try:
        db.create_manager(store, DEMO_ID, hash_secret(DEMO_PASSWORD), hash_secret(DEMO_PIN))
        work = uploads_dir / "demo-source"
        work.mkdir(parents=True, exist_ok=True)
        list_path = work / "유권자_명단.xlsx"
        sample_call_list(list_path)
        result = contacts_import.import_file(store, files, list_path, name="행복도시 1차 발신")
        print(f"  call list: {result.imported} imported, {result.invalid} invalid, "
              f"{result.duplicates} duplicates", file=sys.stderr)
        for title, kind, position, notes in (
            ("교육감후보 홍길동 인사", "intro", 1, [523.3, 659.3, 784.0, 1046.5, 784.0, 659.3]),
            ("빠른시간내 전화약속", "promise", 2, [784.0, 659.3, 523.3]),
            ("콜백 안내", "callback", 3, [659.3, 784.0, 880.0, 784.0]),
        ):
            converted = audio.convert_announcement(sample_announcement(6.0, notes), f"{title}.wav")
            sha256 = files.put(converted.wav, ".wav")
            ment_id = db.add_ment(store, sha256=sha256, original_name=f"{title}.wav", title=title,
                                  duration_s=converted.duration_s, source=converted.source,
                                  changes=converted.changes)
            db.set_ment_role(store, ment_id, kind, position)
        for kind, title, colour in (("outgoing", "Hong Gil-dong", (31, 95, 191)),
                                    ("callback", "Thank you", (23, 128, 61))):
            raw = sample_image(title, colour)
            prepared = images.prepare_image(raw, f"{kind}.png")
            db.add_image(store, kind=kind, sha256=files.put(prepared.jpeg, ".jpg"),
                         original_sha256=files.put(raw, ".png"), original_name=f"{kind}.png",
                         width=prepared.width, height=prepared.height, size=len(prepared.jpeg),
                         source=prepared.source, changes=prepared.changes)
    finally:
        store.conn.close()


def free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port near %d" % preferred)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--dir", default=str(ROOT / "var" / "demo"),
                        help="where the demo database and uploads go (recreated)")
    args = parser.parse_args()
    base = Path(args.dir)
    shutil.rmtree(base, ignore_errors=True)
    db_path, uploads_dir = base / "demo.db", base / "uploads"
    print("preparing demo data…", file=sys.stderr)
    seed(db_path, uploads_dir)
    port = free_port(args.port)
    print()
    print("=" * 60)
    print(f"  Mobile ARS demo:   http://127.0.0.1:{port}/")
    print(f"  관리자 아이디 (id):  {DEMO_ID}")
    print(f"  패스워드 (password): {DEMO_PASSWORD}")
    print(f"  관리자비번 (PIN):    {DEMO_PIN}")
    print("  Stop with Ctrl+C.")
    print("=" * 60, flush=True)
    ars = [str(ROOT / ".venv" / "bin" / "ars"), "serve", "--db", str(db_path),
           "--uploads", str(uploads_dir), "--host", "127.0.0.1", "--port", str(port)]
    try:
        subprocess.run(ars, check=False)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
