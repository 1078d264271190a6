"""file_analysis, called as the agent calls it: the figures are hashlib's and stat's, the
type comes from the content, strings are found wherever they sit, reads are bounded."""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from actors.agents.skills import SKILLS
from actors.agents.skills.file_analysis.content import CHUNK
from actors.errors import InvalidParameter, OutOfScope
from tests.actors.agents.skills.samples import scopes

SKILL = SKILLS["file_analysis"]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


async def no_progress(percent: int, message: str = "") -> None:
    pass


async def analyse(path: Path, **parameters: Any) -> dict[str, Any]:
    return await SKILL({"path": str(path), **parameters}, no_progress, scopes(path.parent))


async def test_hashes_size_and_times_are_those_of_the_file(tmp_path):
    path = tmp_path / "sample.bin"
    content = os.urandom(3 * CHUNK + 123)
    path.write_bytes(content)
    os.utime(path, (1_700_000_000, 1_700_000_000.25))

    result = await analyse(path)

    assert result["md5"] == hashlib.md5(content, usedforsecurity=False).hexdigest()
    assert result["sha1"] == hashlib.sha1(content, usedforsecurity=False).hexdigest()
    assert result["sha256"] == hashlib.sha256(content).hexdigest()
    assert result["size"] == result["bytes_read"] == len(content)
    assert result["truncated"] is False
    assert result["mtime"] == "2023-11-14T22:13:20.250000Z"
    ctime = datetime.fromtimestamp(path.stat().st_ctime, UTC)
    assert result["ctime"] == ctime.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert result["path"] == str(path)


async def test_entropy_is_shannon_bits_per_byte(tmp_path):
    random_bytes = os.urandom(1 << 18)
    (tmp_path / "random").write_bytes(random_bytes)
    (tmp_path / "zeros").write_bytes(bytes(4096))
    (tmp_path / "two").write_bytes(b"ab" * 500)
    (tmp_path / "empty").write_bytes(b"")

    counts = Counter(random_bytes)
    n = len(random_bytes)
    expected = -sum(c / n * math.log2(c / n) for c in counts.values())
    assert (await analyse(tmp_path / "random"))["entropy"] == pytest.approx(expected, abs=1e-4)
    assert (await analyse(tmp_path / "random"))["entropy"] > 7.99
    assert (await analyse(tmp_path / "zeros"))["entropy"] == 0.0
    assert (await analyse(tmp_path / "two"))["entropy"] == 1.0
    assert (await analyse(tmp_path / "empty"))["entropy"] == 0.0


@pytest.mark.parametrize(
    ("content", "mime", "extension"),
    [
        (PNG, "image/png", "png"),
        (b"%PDF-1.7\n" + bytes(100), "application/pdf", "pdf"),
        (b"PK\x03\x04" + bytes(100), "application/zip", "zip"),
        ("naïve café, plain text\n".encode(), "text/plain", None),
        (b"", "text/plain", None),
        (b"\x00\x01\x02\xff\xfe" * 50, "application/octet-stream", None),
        (b"latin-1 \xe9t\xe9\n", "application/octet-stream", None),
    ],
)
async def test_type_comes_from_the_content_not_the_name(tmp_path, content, mime, extension):
    path = tmp_path / "misleading.txt"
    path.write_bytes(content)

    result = await analyse(path)

    assert (result["mime"], result["extension"]) == (mime, extension)


async def test_utf8_text_cut_inside_a_character_by_the_sample_is_still_text(tmp_path):
    path = tmp_path / "long.txt"
    path.write_bytes(b"a" + "é".encode() * (1 << 16))  # 65,536 bytes in, a character is cut

    assert (await analyse(path))["mime"] == "text/plain"


async def test_strings_are_found_with_their_offsets_also_across_chunks(tmp_path):
    path = tmp_path / "blob"
    before = bytes(CHUNK - 3)
    content = b"\x00hi\x00" + b"http://example.test/x\x01" + before + b"straddling\x00tail"
    path.write_bytes(content)

    result = await analyse(path)

    assert [(s["offset"], s["text"]) for s in result["strings"]] == [
        (content.index(b"http"), "http://example.test/x"),
        (content.index(b"straddling"), "straddling"),
        (content.index(b"tail"), "tail"),
    ]
    assert result["strings_total"] == 3
    assert [s["length"] for s in result["strings"]] == [21, 10, 4]


async def test_strings_are_bounded_but_all_counted(tmp_path):
    path = tmp_path / "many"
    path.write_bytes(b"\x00".join(b"word%04d" % i for i in range(500)))

    result = await analyse(path, max_strings=10, min_string_length=6)

    assert [s["text"] for s in result["strings"]] == [f"word{i:04d}" for i in range(10)]
    assert result["strings_total"] == 500


async def test_a_printable_run_longer_than_a_chunk_is_one_string_shown_shortened(tmp_path):
    path = tmp_path / "text"
    path.write_bytes(b"x" * 40_000 + b"\n")

    result = await analyse(path)

    [string] = result["strings"]
    assert (string["offset"], string["length"], len(string["text"])) == (0, 40_000, 256)


async def test_max_bytes_bounds_what_is_read_and_says_so(tmp_path):
    path = tmp_path / "big"
    content = os.urandom(10_000)
    path.write_bytes(content)

    result = await analyse(path, max_bytes=4096)

    assert (result["size"], result["bytes_read"], result["truncated"]) == (10_000, 4096, True)
    assert result["sha256"] == hashlib.sha256(content[:4096]).hexdigest()


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({}, "path"),
        ({"path": "{tmp}/f", "max_bytes": 0}, "max_bytes"),
        ({"path": "{tmp}/f", "max_bytes": "1MB"}, "max_bytes"),
        ({"path": "{tmp}/f", "min_string_length": 1}, "min_string_length"),
        ({"path": "{tmp}/f", "max_strings": 10_001}, "max_strings"),
        ({"path": "{tmp}/f", "algorithm": "md5"}, "algorithm"),
        ({"path": "{tmp}/nope"}, "path"),
        ({"path": "{tmp}"}, "path"),  # a folder
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(tmp_path, parameters, named):
    (tmp_path / "f").write_bytes(b"x")
    parameters = {k: v.format(tmp=tmp_path) if k == "path" else v for k, v in parameters.items()}

    with pytest.raises(InvalidParameter) as refused:
        SKILL.validate(parameters, scopes(tmp_path))

    assert refused.value.name == named


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "pipe")

    with pytest.raises(InvalidParameter, match="not a regular file"):
        SKILL.validate({"path": str(tmp_path / "pipe")}, scopes(tmp_path))


@pytest.mark.parametrize("where", ["/etc/passwd", "{tmp}/scope/../outside", "{tmp}/scope/link"])
def test_a_file_outside_the_scope_is_refused(tmp_path, where):
    (tmp_path / "scope").mkdir()
    (tmp_path / "outside").write_bytes(b"secret")
    (tmp_path / "scope" / "link").symlink_to(tmp_path / "outside")

    with pytest.raises(OutOfScope) as refused:
        SKILL.validate({"path": where.format(tmp=tmp_path)}, scopes(tmp_path / "scope"))

    assert refused.value.name == "path"
