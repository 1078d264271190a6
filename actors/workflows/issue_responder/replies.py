# ruff: noqa: RUF001  (the Chinese and Japanese templates use their own punctuation)
"""What the issue responder decides without a provider: each issue's category and
severity by documented keyword rules, and a reply from templates in the issue's
language (the six the seed names).

Categories, first match wins: `security` (security, vulnerab, CVE, injection, XSS,
leak, exploit), `bug` (error, exception, crash, traceback, fails, broken, bug),
`docs` (docs, documentation, typo, readme), `feature` (feature, add, support, request,
would be nice), else `question`. Severity: security high; a bug that crashes or loses
data high, other bugs medium; the rest low.
"""

from __future__ import annotations

import re

_RULES = (
    ("security", r"securit|vulnerab|\bcve-|injection|\bxss\b|\bleak|exploit"),
    ("bug", r"\berror\b|exception|crash|traceback|\bfails?\b|broken|\bbug\b|fehler|erreur|"
            r"falla|error|崩溃|错误|エラー|クラッシュ"),
    ("docs", r"\bdocs?\b|documentation|typo|readme|dokumentation|documentación"),
    ("feature", r"feature|\badd\b|support for|request|would be nice|función|fonctionnalité"),
)  # fmt: skip
_SEVERE = r"crash|data loss|lost (my|all)|corrupt|崩溃|クラッシュ|absturz|plantage|se cierra"


def categorise(text: str) -> tuple[str, str]:
    """(category, severity) of an issue's cleaned text."""
    lowered = text.lower()
    category = next((name for name, rule in _RULES if re.search(rule, lowered)), "question")
    if category == "security":
        return category, "high"
    if category == "bug":
        return category, "high" if re.search(_SEVERE, lowered) else "medium"
    return category, "low"


_TEMPLATES: dict[str, dict[str, str]] = {
    "english": {
        "thanks": "Thank you for the report, @{author}.",
        "bug": "This looks like a bug ({severity}). We will reproduce it and fix it.",
        "security": "This may be a security problem: please keep details private until it"
        " is fixed. We are looking at it now.",
        "feature": "This is a feature request; we have noted it for planning.",
        "docs": "This is about the documentation; we will correct it.",
        "question": "This is a question; an answer will follow here.",
        "fixed": "A proposed fix is in draft pull request {pr}.",
    },
    "spanish": {
        "thanks": "Gracias por el reporte, @{author}.",
        "bug": "Parece un error ({severity}). Lo reproduciremos y lo corregiremos.",
        "security": "Puede ser un problema de seguridad: por favor, no publique detalles"
        " hasta que esté corregido. Lo estamos revisando.",
        "feature": "Es una solicitud de funcionalidad; la hemos anotado para planificarla.",
        "docs": "Se trata de la documentación; la corregiremos.",
        "question": "Es una pregunta; la respuesta llegará aquí.",
        "fixed": "Hay una corrección propuesta en el pull request borrador {pr}.",
    },
    "french": {
        "thanks": "Merci pour le signalement, @{author}.",
        "bug": "Cela ressemble à un bogue ({severity}). Nous allons le reproduire et le corriger.",
        "security": "Il peut s'agir d'un problème de sécurité : merci de garder les détails"
        " privés jusqu'à la correction. Nous l'examinons.",
        "feature": "C'est une demande de fonctionnalité ; nous l'avons notée.",
        "docs": "Cela concerne la documentation ; nous allons la corriger.",
        "question": "C'est une question ; la réponse suivra ici.",
        "fixed": "Une correction est proposée dans la pull request brouillon {pr}.",
    },
    "german": {
        "thanks": "Danke für die Meldung, @{author}.",
        "bug": "Das sieht nach einem Fehler aus ({severity}). Wir reproduzieren und beheben ihn.",
        "security": "Das könnte ein Sicherheitsproblem sein: Bitte halten Sie Details bis zur"
        " Behebung vertraulich. Wir sehen es uns an.",
        "feature": "Das ist ein Funktionswunsch; wir haben ihn für die Planung notiert.",
        "docs": "Es geht um die Dokumentation; wir korrigieren sie.",
        "question": "Das ist eine Frage; die Antwort folgt hier.",
        "fixed": "Ein Korrekturvorschlag liegt im Entwurfs-Pull-Request {pr}.",
    },
    "chinese": {
        "thanks": "感谢您的报告，@{author}。",
        "bug": "这看起来是一个缺陷（{severity}）。我们会复现并修复它。",
        "security": "这可能是一个安全问题：在修复之前请不要公开细节。我们正在处理。",
        "feature": "这是一个功能请求，我们已记录以便规划。",
        "docs": "这与文档有关，我们会更正。",
        "question": "这是一个问题，答复将发布在这里。",
        "fixed": "修复建议见草稿拉取请求 {pr}。",
    },
    "japanese": {
        "thanks": "ご報告ありがとうございます、@{author} さん。",
        "bug": "不具合のようです（{severity}）。再現して修正します。",
        "security": "セキュリティ上の問題の可能性があります。"
        "修正まで詳細は公開しないでください。現在確認中です。",
        "feature": "機能のご要望として記録しました。",
        "docs": "ドキュメントに関する内容です。修正します。",
        "question": "ご質問ですね。回答はこちらに掲載します。",
        "fixed": "修正案はドラフトのプルリクエスト {pr} にあります。",
    },
}


def template(language: str, category: str, severity: str, author: str | None) -> str:
    words = _TEMPLATES.get(language, _TEMPLATES["english"])
    return f"{words['thanks'].format(author=author or 'there')} " + words[category].format(
        severity=severity
    )


def fixed_note(language: str, pr: str) -> str:
    return _TEMPLATES.get(language, _TEMPLATES["english"])["fixed"].format(pr=pr)
