"""Every catalog (the core's and each module's) is complete in every language:
no untranslated and no fuzzy message, and each translation keeps its placeholders."""
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.config import LOCALES, ROOT

CATALOGS = sorted(p for p in (ROOT / "translations").glob("*/*/LC_MESSAGES/messages.po"))
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_language_has_a_catalog_for_the_core():
    for locale in LOCALES[1:]:
        assert (ROOT / "translations" / "app" / locale / "LC_MESSAGES" / "messages.po").exists()


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: f"{p.parts[-4]}-{p.parts[-3]}")
def test_catalog_is_complete(path: Path):
    with path.open("rb") as handle:
        catalog = read_po(handle)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        if set(PLACEHOLDER.findall(ids[0])) != set(PLACEHOLDER.findall(strings[0])):
            problems.append(f"placeholders differ: {ids[0]!r} -> {strings[0]!r}")
    assert not problems, "\n".join(problems)


def test_catalogs_cover_every_string_in_the_code():
    """The .pot of each catalog is current: `make i18n` was run after the last string changed."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    for pot in (ROOT / "translations").glob("*/messages.pot"):
        name = pot.parent.name
        with (pot.parent / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
        sources = ([ROOT / "app", ROOT / "templates"] if name == "app"
                   else [ROOT / "app" / name, ROOT / "templates" / name] if name in ("notifications", "moderation")
                   else [ROOT / name, ROOT / "templates" / name])
        missing = set()
        for source in sources:
            for _file, _line, message, _comments, _ctx in extract_from_dir(
                    source, method_map, options_map, keywords={"_": None, "_l": None, "gettext": None,
                                                               "lazy_gettext": None, "ngettext": (1, 2)}):
                if (name == "app" and source.name == "templates" and "/" in _file
                        and _file.split("/")[0] not in ("accounts", "organisations", "audit")):
                    continue
                if name == "app" and source.name == "app" and _file.startswith(("notifications/", "moderation/")):
                    continue  # the notifications and moderation catalogs have their own strings
                msgid = message if isinstance(message, str) else message[0]
                if msgid and msgid not in known:
                    missing.add(msgid)
        assert not missing, f"{name}: run `make i18n` and translate: {sorted(missing)[:20]}"


def _translation(catalog: str, locale: str, msgid: str) -> str:
    with (ROOT / "translations" / catalog / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)[msgid].string


@pytest.mark.parametrize("locale", ["es", "it", "ca"])
def test_signing_out_and_closing_a_meeting_are_different_words(locale):
    """"Close the session" means two things in Spanish and Catalan: leaving one's account and
    ending a council's sitting. The two buttons must not read alike (ca "Tanca la sessió" /
    "Tancar la sessió" did): their verbs differ, not only their endings."""
    sign_out = _translation("app", locale, "Sign out")
    close_meeting = _translation("councils", locale, "Close the meeting")
    stem = lambda text: text.split()[0].lower()[:4]  # noqa: E731
    assert stem(sign_out) != stem(close_meeting), (sign_out, close_meeting)
    for msgid in ("Write the minutes before closing the meeting.",
                  "Close every open vote before closing the meeting."):
        assert sign_out.lower() not in _translation("councils", locale, msgid).lower()
