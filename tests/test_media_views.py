"""안내멘트 and 이미지 pages: upload, convert, play, set kind and order, delete."""

import io

import numpy as np
import soundfile as sf
from PIL import Image

from server import db

from .conftest import PIN, page_text


def wav_bytes(seconds=1.5, rate=44100, channels=2, subtype="PCM_24", freq=440.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.4 * np.sin(2 * np.pi * freq * t)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    buffer = io.BytesIO()
    sf.write(buffer, data, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def png_bytes(size=(1200, 800), colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def upload(manager, path, data: bytes, filename: str, **fields):
    return manager.post(path, dict(fields, file=(io.BytesIO(data), filename)),
                        content_type="multipart/form-data", follow_redirects=True)


def stored_files(app) -> list:
    import pathlib
    root = pathlib.Path(app.config["UPLOADS"]) / "sha256"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_stereo_44k_wav_is_converted_and_the_manager_is_told(logged_in, client, store, app):
    response = upload(logged_in, "/ments/upload", wav_bytes(), "인사.wav", title="인사말")
    text = page_text(response)
    assert "전화기 형식 (PCM 8 kHz 16비트 모노)으로 변환했습니다" in text
    assert "44100 Hz → 8000 Hz" in text
    (ment,) = db.ments(store)
    assert ment["title"] == "인사말" and abs(ment["duration_s"] - 1.5) < 0.02
    # The stored file is what a phone needs, and the browser can play it.
    played = client.get(f"/ments/{ment['id']}.wav")
    assert played.status_code == 200 and played.mimetype == "audio/wav"
    info = sf.info(io.BytesIO(played.data))
    assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
    assert stored_files(app)[0].name == f"{ment['sha256']}.wav"
    assert "1.5 초" in page_text(client.get("/ments/"))


def test_phone_format_wav_is_kept_as_is(logged_in, store):
    response = upload(logged_in, "/ments/upload", wav_bytes(rate=8000, channels=1, subtype="PCM_16"), "ok.wav")
    assert "이미 전화기 형식입니다" in page_text(response)
    assert db.ments(store)[0]["changes"] == []


def test_non_audio_is_refused_and_nothing_is_stored(logged_in, store, app):
    for data, name in ((b"hello, not audio" * 10, "fake.wav"), (png_bytes(), "poster.wav"),
                       (b"", "empty.wav"), (wav_bytes()[:30], "truncated.wav")):
        response = upload(logged_in, "/ments/upload", data, name)
        text = page_text(response)
        assert f"{name}:" in text, text
        assert 'class="flash error"' in response.get_data(as_text=True)
    assert db.ments(store) == []
    assert stored_files(app) == []


def test_wrong_extension_is_refused_with_the_accepted_list(logged_in, store):
    response = upload(logged_in, "/ments/upload", b"abc", "notes.docx")
    assert "notes.docx:" in page_text(response)
    assert db.ments(store) == []


def test_kind_and_order_are_set(logged_in, store, client):
    upload(logged_in, "/ments/upload", wav_bytes(), "a.wav")
    upload(logged_in, "/ments/upload", wav_bytes(freq=660), "b.wav")
    first, second = db.ments(store)
    assert (first["position"], second["position"]) == (1, 2)
    logged_in.post(f"/ments/{second['id']}/role", {"kind": "intro", "position": "1"})
    logged_in.post(f"/ments/{first['id']}/role", {"kind": "promise", "position": "2"})
    kinds = {m["title"]: (m["kind"], m["position"]) for m in db.ments(store)}
    assert kinds == {"b": ("intro", 1), "a": ("promise", 2)}
    bad = logged_in.post(f"/ments/{first['id']}/role", {"kind": "jingle", "position": "1"},
                         follow_redirects=True)
    assert "unknown announcement kind 'jingle'" in page_text(bad)
    assert db.ment(store, first["id"])["kind"] == "promise"
    late = logged_in.post(f"/ments/{first['id']}/role", {"kind": "callback", "position": "100"},
                          follow_redirects=True)
    assert "안내순서: 1-99" in page_text(late)
    assert db.ment(store, first["id"])["kind"] == "promise"
    logged_in.post(f"/ments/{first['id']}/role", {"kind": "", "position": "3"})
    assert (db.ment(store, first["id"])["kind"], db.ment(store, first["id"])["position"]) == (None, 3)
    home = page_text(client.get("/home"))
    assert "상품소개 안내멘트 준비됨" in home and "콜백멘트 없음" in home


def test_delete_needs_the_admin_pin(logged_in, store, app):
    upload(logged_in, "/ments/upload", wav_bytes(), "a.wav")
    (ment,) = db.ments(store)
    refused = logged_in.post(f"/ments/{ment['id']}/delete", {"pin": "0000"}, follow_redirects=True)
    assert "관리자비번이 올바르지 않습니다." in page_text(refused)
    assert len(db.ments(store)) == 1
    logged_in.post(f"/ments/{ment['id']}/delete", {"pin": PIN})
    assert db.ments(store) == []
    assert stored_files(app) == []
    deletions, _ = db.audit_entries(store, action="delete")
    assert [d["ok"] for d in deletions] == [1, 0]


def test_image_upload_makes_a_phone_ready_jpeg(logged_in, client, store):
    response = upload(logged_in, "/images/upload", png_bytes(), "poster.png", kind="outgoing")
    assert "poster.png:" in page_text(response)
    (image,) = db.images(store)
    assert (image["kind"], image["width"], image["height"], image["active"]) == ("outgoing", 720, 1280, 1)
    served = client.get(f"/images/{image['id']}.jpg")
    picture = Image.open(io.BytesIO(served.data))
    assert picture.format == "JPEG" and picture.size == (720, 1280)
    thumb = Image.open(io.BytesIO(client.get(f"/images/{image['id']}.jpg?thumb=1").data))
    assert max(thumb.size) <= 240
    assert "발신시 표시 이미지 준비됨" in page_text(client.get("/home"))


def test_newest_image_of_a_kind_is_active_and_can_be_switched(logged_in, store):
    upload(logged_in, "/images/upload", png_bytes(colour=(1, 2, 3)), "one.png", kind="callback")
    upload(logged_in, "/images/upload", png_bytes(colour=(9, 9, 9)), "two.png", kind="callback")
    active = [i["original_name"] for i in db.images(store, "callback") if i["active"]]
    assert active == ["two.png"]
    one = next(i for i in db.images(store) if i["original_name"] == "one.png")
    logged_in.post(f"/images/{one['id']}/activate")
    assert [i["original_name"] for i in db.images(store, "callback") if i["active"]] == ["one.png"]


def test_non_images_and_bombs_are_refused(logged_in, store, app):
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, "PNG")
    for data, name in ((b"GIF89a not really", "fake.gif"), (b"plain text", "notes.png"),
                       (bomb.getvalue(), "bomb.png"), (b"BM" + b"\0" * 100, "old.bmp")):
        response = upload(logged_in, "/images/upload", data, name, kind="outgoing")
        assert f"{name}:" in page_text(response)
        assert 'class="flash error"' in response.get_data(as_text=True)
    assert db.images(store) == []
    assert stored_files(app) == []


def test_unknown_image_kind_is_refused(logged_in, store):
    response = upload(logged_in, "/images/upload", png_bytes(), "p.png", kind="banner")
    assert "알 수 없는 이미지 종류입니다: 'banner'" in page_text(response)
    assert db.images(store) == []
