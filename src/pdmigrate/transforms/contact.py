"""Contact transforms: phone, email and split_name."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from pdmigrate.transforms.core import (
    Args,
    Body,
    Kind,
    Ok,
    Phone,
    Problem,
    Result,
    TransformContext,
    Value,
    check_args,
    choice,
    is_blank,
    no_args,
    register,
    spec_error,
    wrong_type,
)

# --- phone --------------------------------------------------------------------------

PHONE_LABELS = ("work", "home", "mobile", "other")
_LABEL_WORDS = {
    "h": "home",
    "hm": "home",
    "home": "home",
    "ah": "home",
    "a/h": "home",
    "after hours": "home",
    "w": "work",
    "wk": "work",
    "work": "work",
    "b": "work",
    "bus": "work",
    "business": "work",
    "o": "work",
    "off": "work",
    "office": "work",
    "m": "mobile",
    "mob": "mobile",
    "mobile": "mobile",
    "c": "mobile",
    "cell": "mobile",
    "f": "other",
    "fax": "other",
    "other": "other",
}
_LABEL_RE = re.compile(
    r"(?<![a-z])("
    + "|".join(re.escape(w) for w in sorted(_LABEL_WORDS, key=len, reverse=True))
    + r")(?![a-z])",
    re.IGNORECASE,
)
_MAX_PHONE_TEXT = 200


def _label_before(text: str) -> str | None:
    found = _LABEL_RE.findall(text)
    return _LABEL_WORDS[found[-1].lower()] if found else None


_ONE_NUMBER = re.compile(r"[\d\s+().-]{6,25}")


def _single_number(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The fast path: a cell holding just one possible number (no labels, no free text)."""
    if not _ONE_NUMBER.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def _format(number: phonenumbers.PhoneNumber) -> str:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164} ext. {number.extension}" if number.extension else e164


@register(
    "phone",
    signature="phone[(REGION)][(label=work|home|mobile|other)]",
    summary="Phone numbers to E.164; free text with several numbers becomes a labelled list.",
    returns=Kind.LIST,
)
def _phone(args: Args, spec: str) -> Body:
    check_args(args, spec, max_positional=1, keys=("label",))
    region: str | None = None
    if args.positional:
        region = args.positional[0].upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise spec_error(spec, f"unknown phone region '{args.positional[0]}' (use AU, US...)")
    label_opt = args.option("label")
    default_label = choice(label_opt, PHONE_LABELS, spec, "label") if label_opt else None

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            return wrong_type("phone", "text")
        if len(value) > _MAX_PHONE_TEXT:
            return Problem("phone.too_long", f"more than {_MAX_PHONE_TEXT} characters")
        where = region or ctx.country.upper()
        if where not in phonenumbers.SUPPORTED_REGIONS:
            return Problem("phone.bad_region", "the workspace country is not a phone region")
        found: list[tuple[phonenumbers.PhoneNumber, str | None]] = []
        single = _single_number(value, where)
        if single is not None:
            found.append((single, None))
        else:
            last_end = 0
            matcher = phonenumbers.PhoneNumberMatcher(value, where, phonenumbers.Leniency.POSSIBLE)
            for match in matcher:
                found.append((match.number, _label_before(value[last_end : match.start])))
                last_end = match.end
        if not found:
            try:
                number = phonenumbers.parse(value, where)
            except phonenumbers.NumberParseException:
                return Problem("phone.invalid", f"not a phone number (region {where})")
            if not phonenumbers.is_possible_number(number):
                return Problem("phone.invalid", f"not a phone number (region {where})")
            found.append((number, _label_before(value)))
        phones: list[Phone] = []
        warnings: list[Problem] = []
        for number, label in found:
            kind = phonenumbers.number_type(number)  # UNKNOWN when not a valid number
            if kind == phonenumbers.PhoneNumberType.UNKNOWN:
                warnings.append(
                    Problem("phone.unverified", "a number has a possible length but is not valid")
                )
            if label is None:
                mobile = kind == phonenumbers.PhoneNumberType.MOBILE
                label = default_label or ("mobile" if mobile else "work")
            text = _format(number)
            if any(p.value == text for p in phones):
                continue
            phones.append(Phone(text, label, primary=not phones))
        return Ok(tuple(phones), tuple(dict.fromkeys(warnings)))

    return body


# --- email --------------------------------------------------------------------------

PLACEHOLDER_LOCALS = frozenset(
    {
        "none",
        "noemail",
        "no.email",
        "no-email",
        "no_email",
        "nomail",
        "no",
        "na",
        "n.a",
        "nil",
        "null",
        "unknown",
        "noreply",
        "no-reply",
        "donotreply",
        "dontemail",
        "donotemail",
        "noaddress",
    }
)
PLACEHOLDER_DOMAINS = frozenset(
    {"none.com", "noemail.com", "nomail.com", "none.none", "email.none", "no.email", "na.com"}
)
_MAX_EMAIL_TEXT = 1000  # four 254-character addresses and their separators
_SPLIT_EMAILS = re.compile(r"[;,\s]+")


def placeholder_reason(address: str, own_domain: str | None) -> str | None:
    """Why ``address`` (normalised) is a placeholder, or None if it is a real address."""
    local, _, domain = address.rpartition("@")
    domain = domain.lower()
    if local.lower() in PLACEHOLDER_LOCALS:
        return "placeholder address (a 'no email' local part)"
    if domain in PLACEHOLDER_DOMAINS:
        return "placeholder address (a 'no email' domain)"
    if own_domain:
        own = own_domain.lower().lstrip("@")
        if domain == own or domain.endswith("." + own):
            return "the practice's own address, used as a placeholder"
    return None


@register(
    "email",
    signature="email",
    summary="A valid email address; placeholders and the practice's own address are missing.",
)
def _email(args: Args, spec: str) -> Body:
    no_args("email")(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        if not isinstance(value, str):
            return wrong_type("email", "text")
        text = value.strip()
        if len(text) > _MAX_EMAIL_TEXT:
            return Problem("email.invalid", f"more than {_MAX_EMAIL_TEXT} characters")
        if "<" in text and text.endswith(">"):
            text = text[text.rfind("<") + 1 : -1]
        text = re.sub(r"^mailto:", "", text.strip(), flags=re.IGNORECASE)
        candidates = [c for c in _SPLIT_EMAILS.split(text) if c]
        good: list[str] = []
        first_problem: Problem | None = None
        for candidate in candidates:
            try:
                address = validate_email(candidate, check_deliverability=False).normalized
            except EmailNotValidError:
                first_problem = first_problem or Problem("email.invalid", "not a valid address")
                continue
            reason = placeholder_reason(address, ctx.own_email_domain)
            if reason is not None:
                first_problem = first_problem or Problem("email.placeholder", reason)
                continue
            good.append(address)
        if not good:
            return first_problem or Problem("email.invalid", "not a valid address")
        warnings: tuple[Problem, ...] = ()
        if len(candidates) > 1:
            warnings = (
                Problem(
                    "email.extra_dropped",
                    f"the cell holds {len(candidates)} addresses; the first valid one is kept",
                ),
            )
        return Ok(good[0], warnings)

    return body


# --- split_name ---------------------------------------------------------------------

TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "rev", "fr", "sir", "dame"}
    | {"lady", "lord", "hon", "master", "madam", "mdm"}
)
SUFFIXES = frozenset(
    {"jr", "sr", "ii", "iii", "iv", "md", "dds", "dmd", "phd", "esq", "esquire", "cpa", "rn"}
    | {"jd", "dvm", "od"}
)
PARTICLES = frozenset(
    {"van", "von", "de", "der", "den", "del", "della", "di", "da", "du", "la", "le", "dos"}
    | {"das", "st", "st.", "bin", "binti", "ibn", "al", "el", "ten", "ter", "mac"}
)
_PREFERRED = re.compile(r"\(([^()]*)\)|\"([^\"]*)\"|“([^”]*)”|'([^']*)'(?=\s|$)")
NAME_PARTS = ("full", "first", "last", "middle", "title", "suffix", "preferred")


@dataclass(frozen=True, slots=True)
class Name:
    """A person's name split into parts; ``full`` is ``first middle last suffix``."""

    first: str | None = None
    middle: str | None = None
    last: str | None = None
    title: str | None = None
    suffix: str | None = None
    preferred: str | None = None

    @property
    def full(self) -> str | None:
        """The display name Pipedrive gets: first, middle, last and suffix (no title)."""
        parts = [p for p in (self.first, self.middle, self.last, self.suffix) if p]
        return " ".join(parts) or None

    def part(self, name: str) -> str | None:
        """One part by name (one of NAME_PARTS)."""
        value = self.full if name == "full" else getattr(self, name)
        return value if isinstance(value, str) else None


def _bare(token: str) -> str:
    return token.lower().strip(".")


def parse_name(text: str) -> Name | None:
    """Split "Last, First M", "First M Last" or "Dr First Last Jr" into parts; None if empty."""
    preferred: str | None = None
    m = _PREFERRED.search(text)
    if m:
        preferred = next((g for g in m.groups() if g is not None), "").strip() or None
        text = text[: m.start()] + " " + text[m.end() :]
    pieces = [" ".join(p.split()) for p in text.split(",")]
    pieces = [p for p in pieces if p]
    suffixes: list[str] = []
    kept: list[str] = []
    for i, piece in enumerate(pieces):
        if i > 0 and all(_bare(t) in SUFFIXES for t in piece.split()):
            suffixes.append(piece)
        else:
            kept.append(piece)
    titles: list[str] = []

    def take_titles(tokens: list[str]) -> list[str]:
        while len(tokens) > 0 and _bare(tokens[0]) in TITLES:
            titles.append(tokens.pop(0))
        return tokens

    def take_suffixes(tokens: list[str]) -> list[str]:
        while len(tokens) > 1 and _bare(tokens[-1]) in SUFFIXES:
            suffixes.insert(0, tokens.pop())
        return tokens

    first: str | None = None
    middle: list[str] = []
    last: str | None = None
    if len(kept) >= 2:
        last_tokens = take_suffixes(take_titles(kept[0].split()))
        given = take_suffixes(take_titles(" ".join(kept[1:]).split()))
        last = " ".join(last_tokens) or None
        if given:
            first, middle = given[0], given[1:]
    elif kept:
        tokens = take_suffixes(take_titles(kept[0].split()))
        if len(tokens) == 1:
            first = tokens[0]
        elif tokens:
            start = len(tokens) - 1
            while start > 1 and _bare(tokens[start - 1]) in PARTICLES:
                start -= 1
            first, middle, last = tokens[0], tokens[1:start], " ".join(tokens[start:])
    if first is None and last is None:
        return None
    return Name(
        first=first,
        middle=" ".join(middle) or None,
        last=last,
        title=" ".join(titles) or None,
        suffix=" ".join(suffixes) or None,
        preferred=preferred,
    )


@register(
    "split_name",
    signature="split_name[(full|first|last|middle|title|suffix|preferred)]",
    summary='One part of a person\'s name from "Last, First M" or "First Last" forms.',
)
def _split_name(args: Args, spec: str) -> Body:
    check_args(args, spec, max_positional=1)
    part = choice(args.positional[0], NAME_PARTS, spec, "name part") if args.positional else "full"

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        if not isinstance(value, str):
            return wrong_type("split_name", "text")
        name = parse_name(value)
        if name is None:
            return Problem("name.empty", "no name left after removing titles and suffixes")
        return Ok(name.part(part))

    return body
