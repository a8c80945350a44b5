"""The phone's audio helper built from its smali sources with Debian's
smali, checked with dexdump, and carried to phones: in the checkout (router
mode) and in the package the server hands to internet-mode phones.

These tests run the real tools (scripts/test installs libsmali-java and
dexdump); they fail, never skip, where the tools are missing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from phone_agent.android import BUILT_JAR, SOURCES, VERSION_LINE
from phone_agent.android.build import BuildError, build, dex_methods, ensure_built
from tests.conftest import page_text


def test_the_build_makes_a_jar_whose_dex_holds_the_helper_and_the_same_bytes_every_time(tmp_path):
    first = build(tmp_path / "one" / "mobile-ars-audio.jar")
    second = build(tmp_path / "two" / "mobile-ars-audio.jar")
    assert first.sha256 == second.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as jar:
        assert jar.namelist() == ["classes.dex"]  # what app_process loads from a jar
        assert jar.getinfo("classes.dex").date_time == (1980, 1, 1, 0, 0, 0)
        dex = jar.read("classes.dex")
    assert dex[:4] == b"dex\n"
    # dexdump (Debian's, from the Android tools) reads the jar itself
    dump = subprocess.run(["dexdump", "-d", str(first.path)], capture_output=True, text=True, check=True).stdout
    classes = dex_methods(dump)
    assert {"main"} <= classes["Lmobilears/Audio;"]
    assert {"run", "play", "feed", "drain"} <= classes["Lmobilears/Play;"]
    assert {"run"} <= classes["Lmobilears/Record;"]
    assert {"on", "call", "fill"} <= classes["Lmobilears/Speaker;"]
    assert {"read", "parse"} <= classes["Lmobilears/Wav;"]
    assert "Landroid/media/AudioTrack;.write:([BII)I" in dump and "Landroid/media/AudioRecord;.read:([BII)I" in dump
    assert f'"{VERSION_LINE}"' in dump
    record = json.loads((first.path.parent / "mobile-ars-audio.jar.json").read_text())
    assert record["sha256"] == first.sha256 and record["size"] == len(first.path.read_bytes())


def test_the_checkout_holds_the_jar_built_from_its_current_sources():
    built = ensure_built()
    assert built.path == BUILT_JAR
    assert hashlib.sha256(BUILT_JAR.read_bytes()).hexdigest() == built.sha256
    assert ensure_built() == built  # nothing changed: not built again


def _copy_sources(tmp_path):
    sources = tmp_path / "smali"
    shutil.copytree(SOURCES, sources)
    return sources


def test_a_helper_that_reads_an_unset_register_is_refused_before_it_reaches_a_phone(tmp_path):
    """smali assembles it; Android's verifier would refuse it on the phone."""
    sources = _copy_sources(tmp_path)
    play = sources / "mobilears" / "Play.smali"
    text = play.read_text()
    # drop the line that sets the mono channel mask: a mono file reaches
    # AudioTrack.getMinBufferSize with the mask unset
    assert "    const/4 v1, 0x4\n" in text
    play.write_text(text.replace("    const/4 v1, 0x4\n", "", 1))
    with pytest.raises(BuildError, match=r"reads unset or conflicting registers(?s:.*)Play\.smali.*play\("):
        build(tmp_path / "out.jar", sources)
    assert not (tmp_path / "out.jar").exists()


def test_a_syntax_error_and_a_version_out_of_step_are_named(tmp_path):
    sources = _copy_sources(tmp_path)
    audio = sources / "mobilears" / "Audio.smali"
    good = audio.read_text()
    audio.write_text(good.replace("    return-void\n", "    return-nothing\n", 1))
    with pytest.raises(BuildError, match=r"smali failed.*Audio\.smali"):
        build(tmp_path / "out.jar", sources)
    audio.write_text(good.replace('"mobile-ars-audio 1"', '"mobile-ars-audio 0"'))
    with pytest.raises(BuildError, match="do not print 'mobile-ars-audio 1'.*disagree"):
        build(tmp_path / "out.jar", sources)


def test_missing_tools_are_named_with_the_debian_packages(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("dexdump"), bin_dir / "dexdump")
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(BuildError, match=r"smali, baksmali not installed \(apt-get install libsmali-java dexdump\)"):
        build(tmp_path / "out.jar")
    env = {"PATH": str(bin_dir), "PYTHONPATH": os.pathsep.join(sys.path)}
    cli = subprocess.run([sys.executable, "-m", "phone_agent.android.build", "--out", str(tmp_path / "x.jar")],
                         capture_output=True, text=True, env=env)
    assert cli.returncode == 1 and "apt-get install libsmali-java dexdump" in cli.stderr
    skipped = subprocess.run([sys.executable, "-m", "phone_agent.android.build", "--if-tools", "--out",
                              str(tmp_path / "x.jar")], capture_output=True, text=True, env=env)
    assert skipped.returncode == 0 and "audio helper not built" in skipped.stderr
    assert not (tmp_path / "x.jar").exists()


def test_the_package_served_to_phones_carries_the_built_jar_where_the_phone_looks(client, tmp_path):
    """Internet mode: the phone installs phone_agent from the server and pushes
    the helper from its install; the jar in the package is the built one and
    the installed layout finds it."""
    command = re.search(r"pip install (\S+)", page_text(client.get("/phone-agent/"))).group(1)
    data = client.get(command.replace("http://localhost", "")).data
    package = tarfile.open(fileobj=io.BytesIO(data))
    (jar,) = [n for n in package.getnames() if n.endswith(".jar")]
    assert jar.split("/", 1)[1] == "phone_agent/android/dist/mobile-ars-audio.jar"
    assert package.extractfile(jar).read() == BUILT_JAR.read_bytes()
    pyproject = package.extractfile(next(n for n in package.getnames() if n.endswith("pyproject.toml"))).read()
    assert b'"phone_agent.android" = ["dist/*.jar"]' in pyproject  # installed with the package
    assert not [n for n in package.getnames() if n.endswith(".smali")]  # the phone does not build
    package.extractall(tmp_path / "phone", filter="data")
    (root,) = (tmp_path / "phone").iterdir()
    phone = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path "
             "if not getattr(f, '__module__', '').startswith('__editable__')]; "
             "from phone_agent.android import built_jar, jar_digest; p = built_jar(); print(p, jar_digest(p)[1])")
    found = subprocess.run([sys.executable, "-c", phone], capture_output=True, text=True, cwd=tmp_path,
                           env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
    path, sha = found.stdout.split()
    assert path == str(root / "phone_agent/android/dist/mobile-ars-audio.jar"), found.stderr
    assert sha == hashlib.sha256(BUILT_JAR.read_bytes()).hexdigest()


def test_the_virtual_handset_refuses_bad_play_lines_in_the_helpers_own_words(tmp_path):
    """The virtual phone's answers to a bad ``play`` are the real helper's:
    every fixed part of each message is a string in the built dex."""
    import asyncio
    import wave

    import numpy as np
    import soundfile as sf

    from phone_agent.simulator.virtual.handset import AUDIO_HELPER_JAR, VirtualHandset
    from tests.test_virtual_handset import MemoryIO

    float_wav = io.BytesIO()
    sf.write(float_wav, np.zeros((800, 2), dtype=np.float32), 44100, format="WAV", subtype="FLOAT")
    pcm_wav = io.BytesIO()
    with wave.open(pcm_wav, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000)
    play = f"CLASSPATH={AUDIO_HELPER_JAR} app_process / mobilears.Audio play "
    lines = {
        "/sdcard/a.wav --volume 150": "--volume must be 0..100, not ",
        "/sdcard/a.wav --volume": " needs a value",
        "/sdcard/a.wav --stream ring": "--stream must be voice_call or music, not ",
        "/sdcard/a.wav /sdcard/b.wav": "unexpected argument: ",
        "--stream music": "play needs a FILE",
        "/sdcard/none.wav": None,
        "/sdcard/poster.jpg": "not a WAV file (no RIFF header)",
        "/sdcard/float.wav": "not 16-bit PCM (format ",
    }

    async def main():
        phone = VirtualHandset()
        for path, data in (("/sdcard/a.wav", pcm_wav.getvalue()), ("/sdcard/poster.jpg", b"\xff\xd8\xff\xe0 JFIF"),
                           ("/sdcard/float.wav", float_wav.getvalue())):
            await phone.push(path, data, 0o100644, 0)
        answers = {}
        for args in lines:
            out = MemoryIO()
            answers[args] = (await phone.shell(play + args, out), out.text())
        usage = MemoryIO()
        code = await phone.shell(f"CLASSPATH={AUDIO_HELPER_JAR} app_process / mobilears.Audio dance", usage)
        return answers, (code, usage.text()), phone.audio.speakerphone

    answers, usage, speaker = asyncio.run(main())
    dump = subprocess.run(["dexdump", "-d", str(BUILT_JAR)], capture_output=True, text=True, check=True).stdout
    for args, fixed in lines.items():
        code, text = answers[args]
        assert code == 1 and text.startswith("Error: ") and text.endswith("\n"), (args, text)
        if fixed is not None:
            assert fixed in text and f'"{fixed}"' in dump, (args, text)
    assert answers["/sdcard/none.wav"][1] == "Error: /sdcard/none.wav: open failed: ENOENT (No such file or directory)\n"
    assert answers["/sdcard/float.wav"][1] == "Error: /sdcard/float.wav: not 16-bit PCM (format 3, 32 bits)\n"
    assert usage[0] == 2 and f'"{usage[1].strip()}"' in dump
    assert speaker is False  # nothing played
