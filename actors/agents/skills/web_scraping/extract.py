"""What one HTML page holds: title, links, e-mail addresses, phone numbers, technologies.

Parsed with selectolax's Lexbor engine (an HTML5 parser, so broken markup parses the way
a browser would). E-mail addresses come from the visible text and `mailto:` links
(SpiderFoot's regex, lower-cased, file names such as `logo@2x.png` dropped); phone numbers
from the visible text and `tel:` links through libphonenumber's matcher, as E.164.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urldefrag, urljoin

import phonenumbers
from selectolax.lexbor import LexborHTMLParser

from actors.agents.skills.web_scraping import fingerprints
from actors.agents.skills.web_scraping.fingerprints import Tech

_EMAIL = re.compile(r"[%a-zA-Z0-9._+\-]{1,64}@[a-zA-Z0-9.\-]{1,253}\.[a-zA-Z]{2,63}")
_MAX_ATS = 10_000
_NOT_A_TLD = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js"})
_MAX_TEXT = 100_000
"""Characters of visible text searched for addresses and numbers (the matcher is linear
but not cheap; a page with more text than this is a data dump, not a contact page)."""


@dataclass
class PageFacts:
    title: str | None = None
    links: list[str] = field(default_factory=list)
    """Absolute http(s) URLs, fragments stripped, in page order, without repeats."""
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    technologies: list[Tech] = field(default_factory=list)


def emails_in(text: str) -> set[str]:
    """Searched only around each '@': an unbounded regex over the whole text is quadratic
    in a long run of letters (a page is attacker-controlled)."""
    found = set()
    matches: list[str] = []
    at = text.find("@")
    for _ in range(_MAX_ATS):
        if at < 0:
            break
        matches += _EMAIL.findall(text, max(0, at - 64), at + 320)
        at = text.find("@", at + 1)
    for match in matches:
        email = match.lower().strip(".")
        if email.rpartition(".")[2] not in _NOT_A_TLD and not email.startswith("@"):
            found.add(email)
    return found


def phones_in(text: str, region: str) -> set[str]:
    return {
        phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        for match in phonenumbers.PhoneNumberMatcher(text[:_MAX_TEXT], region)
    }


def _phone(number: str, region: str) -> set[str]:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return set()
    if not phonenumbers.is_valid_number(parsed):
        return set()
    return {phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)}


def parse_page(html: str, url: str, region: str) -> PageFacts:
    tree = LexborHTMLParser(html)
    facts = PageFacts()
    title = tree.css_first("title")
    if title is not None:
        facts.title = " ".join(title.text().split())[:500] or None
    base = url
    base_tag = tree.css_first("base[href]")
    if base_tag is not None:
        base = urljoin(url, (base_tag.attributes.get("href") or "").strip())

    seen: set[str] = set()
    for anchor in tree.css("a[href], area[href]"):
        href = (anchor.attributes.get("href") or "").strip()
        lowered = href[:7].lower()
        if lowered.startswith("mailto:"):
            address = unquote(href[7:]).split("?", 1)[0]
            facts.emails |= emails_in(address.replace(",", " "))
            continue
        if lowered.startswith("tel:"):
            facts.phones |= _phone(unquote(href[4:]), region)
            continue
        link = urldefrag(urljoin(base, href)).url
        if link.startswith(("http://", "https://")) and link not in seen:
            seen.add(link)
            facts.links.append(link)

    generator = tree.css_first('meta[name="generator" i]')
    if generator is not None:
        tech = fingerprints.from_generator(generator.attributes.get("content") or "")
        if tech is not None:
            facts.technologies.append(tech)
    scripts = [
        urljoin(base, (s.attributes.get("src") or "").strip()) for s in tree.css("script[src]")
    ]
    styles = [
        urljoin(base, (s.attributes.get("href") or "").strip())
        for s in tree.css('link[rel~="stylesheet" i][href]')
    ]
    facts.technologies += fingerprints.from_assets([*scripts, *styles], frozenset(scripts))
    angular = tree.css_first("[ng-version]")
    if angular is not None:
        facts.technologies.append(
            fingerprints.from_angular(angular.attributes.get("ng-version") or "")
        )

    tree.strip_tags(["script", "style", "noscript", "template"])
    text = tree.body.text(separator=" ") if tree.body is not None else ""
    facts.emails |= emails_in(text)
    facts.phones |= phones_in(text, region)
    return facts
