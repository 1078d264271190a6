"""detect(): the issue's language among the seed's six, english when it cannot tell."""

from __future__ import annotations

import pytest

from actors.workflows.issue_responder.language import (
    LANGUAGES,
    MIN_CONFIDENCE,
    detect,
    detect_with_confidence,
)

SAMPLES = [
    ("english", "The app crashes when I click the save button twice."),
    ("english", "Memory leak in the scheduler"),
    ("spanish", "No puedo iniciar sesión después de actualizar a la versión 2.3."),
    ("spanish", "Consultas lentas en proyectos grandes"),
    ("french", "Pourriez-vous ajouter une option pour exporter les rapports ?"),
    ("french", "Mauvais fuseau horaire dans les rapports"),
    ("german", "Der Server startet nicht, wenn die Konfigurationsdatei fehlt."),
    ("german", "Langsame Abfragen bei großen Projekten"),
    ("chinese", "升级到2.3版本后无法登录，出现500错误。"),  # noqa: RUF001 - Chinese punctuation
    ("chinese", "启动时崩溃"),
    ("japanese", "設定ファイルがないとサーバーが起動しません。"),
    ("japanese", "起動時にクラッシュする"),
]


@pytest.mark.parametrize(("language", "text"), SAMPLES, ids=[t[:24] for _, t in SAMPLES])
def test_a_short_text_is_told_in_each_language(language: str, text: str) -> None:
    found, confidence = detect_with_confidence(text)
    assert found == language
    assert MIN_CONFIDENCE <= confidence <= 1.0
    assert detect(text) == language


def test_code_does_not_decide_the_language() -> None:
    trace = "".join(
        f'  File "amas/runtime/node.py", line {n}, in start\n    await self.bus.connect(url)\n'
        for n in range(20)
    )
    text = (
        "Cuando ejecuto `amas serve --nats nats://localhost:4222` el servidor no arranca:\n"
        f"```\nTraceback (most recent call last):\n{trace}ConnectionRefusedError\n```\n"
        "Más detalles en https://example.org/build/logs/12345"
    )
    assert detect(text) == "spanish"


@pytest.mark.parametrize("text", ["", "1234 ++ --", "```\nKeyError: 'task_id'\n```", "🙂🙂"])
def test_a_text_without_prose_is_english_with_no_confidence(text: str) -> None:
    assert detect_with_confidence(text) == ("english", 0.0)


def test_an_unsure_guess_falls_back_to_english_with_low_confidence() -> None:
    language, confidence = detect_with_confidence("Docs typo")
    assert language == "english"
    assert confidence < MIN_CONFIDENCE


def test_the_languages_are_the_seeds() -> None:
    assert set(LANGUAGES) == {"english", "spanish", "french", "german", "chinese", "japanese"}
