"""Sample data for the demo, the benchmarks and the tests: a call list,
announcements, images and a campaign, all generated here (nothing is
downloaded). Real campaigns never touch this module."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw

from . import campaigns, db, operating
from .contacts import importer
from .media import audio, images
from .storage import UploadStore

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["민준", "서연", "도윤", "하은", "시우", "지유", "주원", "서윤", "예준", "지민", "현우", "수아"]
ROADS = ["행복대로", "누리로", "한누리대로", "가름로", "도움로", "보듬로"]


def voters_csv(path: Path, count: int, *, seed: int = 7, bad_every: int = 0, numbers: list[str] | None = None) -> Path:
    """A UTF-8 call list (이름, 전화번호, 주소). ``bad_every`` > 0 spoils every
    n-th row (a short number) so the rejects show; ``numbers`` fixes the numbers."""
    rng = random.Random(seed)
    picks = numbers if numbers is not None else [
        f"010-{n // 10000:04d}-{n % 10000:04d}" for n in rng.sample(range(20_000_000, 99_999_999), count)]
    lines = ["이름,전화번호,주소"]
    for i, number in enumerate(picks):
        if bad_every and i % bad_every == bad_every - 1:
            number = number[:6]
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        lines.append(f"{name},{number},세종특별자치시 {rng.choice(ROADS)} {rng.randint(1, 300)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def chime_wav(seconds: float, notes: list[float], rate: int = 44100) -> bytes:
    """A stereo 44.1 kHz float WAV of soft notes (so the console shows a conversion)."""
    t = np.arange(int(seconds * rate)) / rate
    step = max(1, len(t) // len(notes))
    signal = np.zeros_like(t)
    for i, freq in enumerate(notes):
        part = slice(i * step, (i + 1) * step)
        n = len(t[part])
        signal[part] = 0.3 * np.sin(2 * np.pi * freq * t[part]) * np.hanning(n)
    buffer = io.BytesIO()
    sf.write(buffer, np.stack([signal, signal * 0.9], axis=1), rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def poster_png(title: str, colour: tuple[int, int, int], size=(1080, 1920)) -> bytes:
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    draw.rectangle([60, 60, size[0] - 60, size[1] - 60], outline=(255, 255, 255), width=12)
    draw.ellipse([size[0] // 2 - 260, 360, size[0] // 2 + 260, 880], fill=(255, 255, 255))
    draw.text((120, 1100), title, fill=(255, 255, 255), font_size=96)
    draw.text((120, 1260), "No. 1", fill=(255, 230, 0), font_size=160)
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


ANNOUNCEMENTS = (
    ("교육감후보 홍길동 인사", "intro", [523.3, 659.3, 784.0, 1046.5, 784.0, 659.3]),
    ("빠른시간내 전화약속", "promise", [784.0, 659.3, 523.3]),
    ("콜백 안내", "callback", [659.3, 784.0, 880.0, 784.0]),
)


def add_media(store, files: UploadStore, *, intro_s: float = 6.0, promise_s: float = 3.0) -> None:
    """The three announcements (intro, promise, callback) and the two images."""
    lengths = {"intro": intro_s, "promise": promise_s, "callback": promise_s}
    for position, (title, kind, notes) in enumerate(ANNOUNCEMENTS, start=1):
        converted = audio.convert_announcement(chime_wav(lengths[kind], notes), f"{title}.wav")
        ment_id = db.add_ment(store, sha256=files.put(converted.wav, ".wav"), original_name=f"{title}.wav",
                              title=title, duration_s=converted.duration_s, source=converted.source,
                              changes=converted.changes)
        db.set_ment_role(store, ment_id, kind, position)
    for kind, title, colour in (("outgoing", "Hong Gil-dong", (31, 95, 191)),
                                ("callback", "Thank you", (23, 128, 61))):
        raw = poster_png(title, colour)
        prepared = images.prepare_image(raw, f"{kind}.png")
        db.add_image(store, kind=kind, sha256=files.put(prepared.jpeg, ".jpg"),
                     original_sha256=files.put(raw, ".png"), original_name=f"{kind}.png",
                     width=prepared.width, height=prepared.height, size=len(prepared.jpeg),
                     source=prepared.source, changes=prepared.changes)


def seed_campaign(db_path: str | Path, uploads_dir: str | Path, *, contacts: int = 300,
                  numbers: list[str] | None = None, name: str = "행복도시 1차 발신", seed: int = 7,
                  bad_every: int = 0, settings: dict | None = None, enrol_key: str | None = None,
                  intro_s: float = 6.0, promise_s: float = 3.0, kind: str = "notice") -> dict:
    """Everything a campaign needs, and the campaign itself (ready, not started).

    Sample campaigns are 안내 (``notice``) by default, so that the demo, the
    benchmarks and the tests call at any hour; an election campaign
    (the console's default) never calls 23:00-06:00 Seoul time."""
    db.init_db(db_path)
    store = db.connect(db_path)
    files = UploadStore(uploads_dir)
    try:
        work = Path(uploads_dir) / "sample-source"
        work.mkdir(parents=True, exist_ok=True)
        csv = voters_csv(work / "유권자_명단.csv", contacts, seed=seed, bad_every=bad_every, numbers=numbers)
        result = importer.import_file(store, files, csv, name=f"{name} 명단", trusted=True)  # generated here
        add_media(store, files, intro_s=intro_s, promise_s=promise_s)
        if settings:
            current = operating.from_stored(db.get_setting(store, operating.SETTINGS_KEY)).as_dict()
            db.put_setting(store, operating.SETTINGS_KEY, dict(current, **settings))
        campaign_id = campaigns.create(store, name=name, list_id=result.list_id, kind=kind)
        if enrol_key:
            db.put_setting(store, "phone_enrol_key", enrol_key)
        return {"campaign_id": campaign_id, "list_id": result.list_id, "imported": result.imported,
                "invalid": result.invalid, "duplicates": result.duplicates,
                "assets": db.campaign(store, campaign_id)["assets"]}
    finally:
        store.conn.close()
