"""Triage of a reported mention: category, severity, and the reasons that decided.

Offline and explainable. The category comes from a multinomial naive Bayes
model built, when first needed, from a labelled training set shipped with the
code (``triage_data/training.jsonl``), plus a small hand-written lexicon of
telling words and phrases that weighs on top of it (a data leak is a crisis
risk even if the training set never said so in those words). Naive Bayes was
chosen because every decision splits into per-word contributions: the words
that pushed the winning category ahead of the runner-up are the reasons a
relay reads. Building takes milliseconds, so corrections made by relays are
folded in at load time (``train(extra=...)``) with no model file to deploy.

Severity is rules over the text (harm to people, data, media, vulnerable
customers, duration, legal threats, virality, shouting), the category and the
number of reporters, each rule named in the reasons.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.i18n import N_, NP_, Tr

COMPLAINT = "complaint"
QUESTION = "question"
CRISIS_RISK = "crisis_risk"
PRAISE = "praise"
OTHER = "other"
CATEGORIES = (COMPLAINT, QUESTION, CRISIS_RISK, PRAISE, OTHER)

LOW, NORMAL, HIGH, CRITICAL = "low", "normal", "high", "critical"
SEVERITIES = (LOW, NORMAL, HIGH, CRITICAL)

CATEGORY_LABELS = {
    COMPLAINT: N_("complaint"),
    QUESTION: N_("question"),
    CRISIS_RISK: N_("crisis risk"),
    PRAISE: N_("praise"),
    OTHER: N_("other"),
}
SEVERITY_LABELS = {
    LOW: N_("low"),
    NORMAL: N_("normal"),
    HIGH: N_("high"),
    CRITICAL: N_("critical"),
}

DATA_DIR = Path(__file__).with_name("triage_data")
TRAINING_FILE = DATA_DIR / "training.jsonl"
LANGUAGES = ("en", "fr")


# --- Reasons ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """One thing that decided, kept as a message id and its values so it can be translated."""

    message: str
    values: tuple[tuple[str, str | int], ...] = ()
    plural: str | None = None  # with a "count" value

    def render(self, tr: Tr) -> str:
        values: dict[str, object] = dict(self.values)
        for key in ("category", "winner"):
            if key in values:
                values[key] = tr(CATEGORY_LABELS[str(values[key])])
        if "severity" in values:
            values["severity"] = tr(SEVERITY_LABELS[str(values["severity"])])
        if "rule" in values:
            values["rule"] = tr(RULE_LABELS[str(values["rule"])])
        if self.plural is not None:
            return tr.plural(self.message, self.plural, int(values["count"]), **values)
        return tr(self.message, **values)


def _reason(message: str | tuple[str, str], **values: str | int) -> Reason:
    if isinstance(message, tuple):
        return Reason(message[0], tuple(sorted(values.items())), plural=message[1])
    return Reason(message, tuple(sorted(values.items())))


# Messages a reason can carry (extracted for translation by N_).
_WORD = N_("“{word}” → {category}")
_CORRECTED = N_("a relay corrected this same text to {category}")
_NOTHING = N_("no telling word → {category}")
_NEGATED = N_("“{word}” negated → {category}")
_MIXED = N_("thanks and a grievance together (irony) → {category}")
_RHETORICAL = N_("“?!” or “??”: indignation rather than a question → {category}")
_QUESTION_FORM = N_("asked as a question → {category}")
_BASE = N_("{category} → {severity} to start with")
_RULE = N_("“{word}” ({rule}) → severity up")
_RULE_CRITICAL = N_("“{word}” ({rule}) → critical")
_SHOUT = N_("written in capitals or with many exclamation marks → severity up")
_CAPPED = N_("{category} stays at {severity} at most")
_REPORTERS = NP_("{count} reporter → severity up", "{count} reporters → severity up")

RULE_LABELS = {
    "harm": N_("harm to people or property"),
    "data": N_("personal data"),
    "media": N_("press or media"),
    "legal": N_("legal threat"),
    "vulnerable": N_("vulnerable person"),
    "duration": N_("an outage lasting for a while"),
    "viral": N_("spreading fast"),
    "leaving": N_("customer leaving"),
    "urgent": N_("urgent"),
    "safety": N_("safety"),
}


@dataclass(frozen=True)
class Triage:
    """The category, severity and reasons of one text.

    ``reasons`` are in English (stable, for logs and the CLI); ``explain(tr)`` gives
    them in a reader's language.
    """

    category: str
    severity: str
    reasons: list[str]
    language: str = "en"
    details: tuple[Reason, ...] = field(default=(), repr=False, compare=False)

    def explain(self, tr: Tr) -> list[str]:
        return [reason.render(tr) for reason in self.details]


# --- Text to features ------------------------------------------------------------------------

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")
_EMOJI = "\U0001f300-\U0001faff\u2600-\u27bf"
_TOKEN = re.compile(rf"[a-z0-9]+|[{_EMOJI}]|[!?.,;:]")
_SENTENCE_END = {".", "!", "?", ",", ";", ":"}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _words("""
    a an the and or of to in on at for from by with is are was were be been am it its this that
    these those i me my we our you your he she they them their his her as so if but just
    le la les l un une des de du d et ou en au aux a ce cet cette ces je j me m moi nous vous
    tu te t il elle ils elles on leur leurs mon ma mes ton ta tes son sa ses notre nos votre
    vos qu que qui y se s c ca est sont etait ai as avons avez ont suis es sommes etes eu
    par pour sur dans avec chez ete etre fait faire avoir aussi alors donc car mais comme si
    tout toute tous toutes tres trop peu bon ici la-bas puis deja meme autre autres dont lui
    cela ceci celui celle ceux quoi ne n dit veut va vont sera serait ont avait
    about after before into over under again also then than there here what's it's i'm i've
    i'd you're we're they're has have had do does did done will would can could should one
    two any some all more most other such only own same very via per got get gets am been
    being up down out off just still yet even
    """)
NEGATORS = _words(
    "ne n pas jamais aucun aucune rien not no never nothing none ni nor sans zero without"
)

# Words whose sense flips after a negator ("pas content", "no problem").
POSITIVE = _words("""
    merci bravo super genial excellent top parfait content contente satisfait satisfaite ravi
    ravie bien efficace rapide reactif reactive professionnel professionnelle sympa aimable
    recommande chapeau felicitation fier fiere formidable impeccable
    thank thanks great awesome amazing love happy satisfied pleased good helpful quick fast
    kudos impressed recommend best perfect nice brilliant fantastic grateful proud well
    """)
NEGATIVE = _words("""
    probleme souci panne coupure bug erreur retard plainte nul honte inadmissible scandaleux
    problem issue outage cut error delay complaint bad terrible awful worst shame
    decu decue decevant disappointed disappointing galere cauchemar nightmare
    """)

# Multi-word expressions made into one feature before anything else (folded spelling).
PHRASES: dict[str, str] = {
    "service client": "service_client",
    "customer service": "customer_service",
    "customer support": "customer_service",
    "fuite de donnees": "data_leak",
    "fuite des donnees": "data_leak",
    "fuites de donnees": "data_leak",
    "donnees personnelles": "personal_data",
    "donnees clients": "personal_data",
    "donnees des clients": "personal_data",
    "data leak": "data_leak",
    "data breach": "data_leak",
    "personal data": "personal_data",
    "customer data": "personal_data",
    "odeur de gaz": "gas_smell",
    "fuite de gaz": "gas_smell",
    "gas leak": "gas_smell",
    "smell of gas": "gas_smell",
    "smells of gas": "gas_smell",
    "gas smell": "gas_smell",
    "power cut": "power_cut",
    "power outage": "power_cut",
    "no power": "power_cut",
    "without power": "power_cut",
    "no electricity": "power_cut",
    "without electricity": "power_cut",
    "sans electricite": "power_cut",
    "sans courant": "power_cut",
    "plus de courant": "power_cut",
    "plus d electricite": "power_cut",
    "plus de chauffage": "no_heating",
    "sans chauffage": "no_heating",
    "no heating": "no_heating",
    "no heat": "no_heating",
    "without heating": "no_heating",
    "pas de chauffage": "no_heating",
    "pas de courant": "power_cut",
    "pas d electricite": "power_cut",
    "on hold": "on_hold",
    "en attente": "on_hold",
    "personne ne repond": "no_answer",
    "nobody answers": "no_answer",
    "no one answers": "no_answer",
    "no answer": "no_answer",
    "aucune reponse": "no_answer",
    "pas de reponse": "no_answer",
    "sans reponse": "no_answer",
    "class action": "class_action",
    "action collective": "class_action",
    "action de groupe": "class_action",
    "est ce que": "est_ce_que",
    "est ce qu": "est_ce_que",
    "quelqu un": "quelqu_un",
    "does anyone": "does_anyone",
    "anyone know": "anyone_know",
    "how do": "how_do",
    "how can": "how_can",
    "is it": "is_it",
    "is there": "is_there",
    "y a t il": "y_a_t_il",
    "savez vous": "savez_vous",
    "what is": "what_is",
    "comment faire": "comment_faire",
    "merci pour rien": "thanks_for_nothing",
    "thanks for nothing": "thanks_for_nothing",
    "en feu": "on_fire",
    "on fire": "on_fire",
    "se faisant passer": "impersonation",
    "se fait passer": "impersonation",
    "pretending to be": "impersonation",
    "posing as": "impersonation",
    "faux site": "impersonation",
    "fake website": "impersonation",
    "electric shock": "electric_shock",
    "choc electrique": "electric_shock",
    "fake site": "impersonation",
    "mise en demeure": "mise_en_demeure",
    "60 millions": "60_millions",
    "que choisir": "que_choisir",
    "appareil medical": "medical_equipment",
    "medical equipment": "medical_equipment",
    "personne agee": "elderly",
    "personnes agees": "elderly",
    "elderly": "elderly",
    "sous respirateur": "medical_equipment",
    "oxygen machine": "medical_equipment",
    "concentrateur d oxygene": "medical_equipment",
}
_PHRASE_TOKENS = {tuple(phrase.split()): name for phrase, name in PHRASES.items()}
_LONGEST_PHRASE = max(len(words) for words in _PHRASE_TOKENS)
_PHRASE_STARTS = frozenset(words[0] for words in _PHRASE_TOKENS)

QUESTION_OPENERS = _words("""
    comment pourquoi quand combien quel quelle quels quelles ou est_ce_que savez_vous
    y_a_t_il peut peuvent puis faut how why when what where which who can could does do
    is_it is_there will would should anyone does_anyone anyone_know how_do how_can what_is
    quelqu_un comment_faire
    """)
POSITIVE_PRESENT = POSITIVE | {"🙏", "👏", "❤", "😍", "👍", "🥰", "😊", "💪", "🎉"}
GRIEVANCE = NEGATIVE | {
    "power_cut",
    "no_heating",
    "encore",
    "again",
    "attente",
    "on_hold",
    "no_answer",
    "😡",
    "🙄",
    "🤬",
    "👎",
}
IRONY = "·irony"
NEGATED_POSITIVE = "·not-positive"
NEGATED_NEGATIVE = "·not-negative"
QUESTION_FORM = "·question-form"
RHETORICAL = "·?!"


def fold(text: str) -> str:
    """Lower case without accents, typographic apostrophes made plain: how words are compared."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'").replace("`", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower().replace("\ufe0f", "")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    return char.lower() if char.isascii() else fold(char)


def _stem(token: str) -> str:
    """Plural and feminine endings off, so 'factures' and 'facture' are one word."""
    if len(token) > 3 and token[-1] in "sx" and not token.endswith("ss"):
        token = token[:-1]
    return token


@dataclass(frozen=True)
class Features:
    """What the model reads in a text: features, and how each one looked in the text."""

    names: tuple[str, ...]
    shown: dict[str, str]  # feature -> the word as written, for the reasons
    words: dict[str, str]  # folded word (phrases joined) -> as written, for the severity rules


def _tokens(text: str) -> list[tuple[str, str]]:
    """(folded token, as written) pairs; links and @handles dropped, phrases joined."""
    clean = _HANDLE.sub(" ", _URL.sub(" ", text))
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(clean):
        for part in _fold_char(char):
            folded.append(part)
            origin.append(index)
    flat = "".join(folded)
    found = [
        (m.group(), clean[origin[m.start()] : origin[m.end() - 1] + 1])
        for m in _TOKEN.finditer(flat)
    ]
    joined: list[tuple[str, str]] = []
    position = 0
    while position < len(found):
        sizes = range(_LONGEST_PHRASE, 1, -1) if found[position][0] in _PHRASE_STARTS else ()
        for size in sizes:
            words = tuple(token for token, _ in found[position : position + size])
            if len(words) == size and words in _PHRASE_TOKENS:
                written = " ".join(shown for _, shown in found[position : position + size])
                joined.append((_PHRASE_TOKENS[words], written))
                position += size
                break
        else:
            token, written = found[position]
            # "don't", "isn't": the "t" after an "n" is a negation
            if token == "t" and joined and joined[-1][0].endswith("n"):
                token = "not"
            joined.append((token, written))
            position += 1
    return joined


def features(text: str) -> Features:
    """Words (phrases joined, stop words dropped, plurals off), negations and cues."""
    tokens = _tokens(text)
    names: list[str] = []
    shown: dict[str, str] = {}
    words: dict[str, str] = {}
    negate = 0
    positive = grievance = False
    first_word = next((t for t, _ in tokens if t not in _SENTENCE_END), "")
    for token, written in tokens:
        if token in _SENTENCE_END:
            negate = 0
            if token in ("?", "!"):
                names.append(token)
                shown.setdefault(token, token)
            continue
        words.setdefault(token, written)
        if token in NEGATORS:
            negate = 3
            names.append(token)
            shown.setdefault(token, written)
            continue
        if token in STOPWORDS or (len(token) < 2 and not _is_emoji(token)):
            continue
        stem = _stem(token)
        if negate:
            negate -= 1
            if stem in POSITIVE or token in POSITIVE:
                names.append(NEGATED_POSITIVE)
                shown.setdefault(NEGATED_POSITIVE, written)
                continue
            if stem in NEGATIVE or token in NEGATIVE:
                names.append(NEGATED_NEGATIVE)
                shown.setdefault(NEGATED_NEGATIVE, written)
                continue
        if token in POSITIVE_PRESENT or stem in POSITIVE_PRESENT:
            positive = True
        if token in GRIEVANCE or stem in GRIEVANCE:
            grievance = True
        names.append(stem)
        shown.setdefault(stem, written)
    if positive and grievance:
        names.append(IRONY)
    if first_word in QUESTION_OPENERS and any(t == "?" for t, _ in tokens):
        names.append(QUESTION_FORM)
    marks = "".join(t for t, _ in tokens if t in ("?", "!"))
    if "?!" in marks or "!?" in marks or "??" in marks:
        names.append(RHETORICAL)  # "Why is my bill 3 times higher?!" asks nothing
    return Features(tuple(names), shown, words)


def _is_emoji(token: str) -> bool:
    return bool(re.fullmatch(rf"[{_EMOJI}]", token))


def detect_language(text: str) -> str:
    """'fr' or 'en', by which language's small words the text uses more."""
    tokens = re.findall(r"[a-z']+", fold(text))
    french = sum(t in _FRENCH_HINTS for t in tokens)
    english = sum(t in _ENGLISH_HINTS for t in tokens)
    return "fr" if french > english else "en"


_FRENCH_HINTS = _words(
    "le la les un une des du et est sont je j'ai vous nous pas ne que qui pour avec dans sur "
    "mon ma mes c'est il elle depuis chez au aux ce cette tres plus encore merci bonjour"
)
_ENGLISH_HINTS = _words(
    "the a an and is are i i'm you we not no that what for with in on my me it's this have "
    "has been since at your our they thanks hello hi why how"
)


# --- Lexicon: hand-written knowledge that weighs on top of the trained model ----------------

LEXICON_WEIGHT = 2.0
LEXICON: dict[str, str] = {
    # crisis risks: harm, data, strikes, scandals, media, regulators
    "data_leak": CRISIS_RISK,
    "personal_data": CRISIS_RISK,
    "piratage": CRISIS_RISK,
    "pirate": CRISIS_RISK,
    "hack": CRISIS_RISK,
    "hacked": CRISIS_RISK,
    "hacker": CRISIS_RISK,
    "ransomware": CRISIS_RISK,
    "rancongiciel": CRISIS_RISK,
    "leaked": CRISIS_RISK,
    "fuite": CRISIS_RISK,
    "explosion": CRISIS_RISK,
    "incendie": CRISIS_RISK,
    "fire": CRISIS_RISK,
    "blesse": CRISIS_RISK,
    "injured": CRISIS_RISK,
    "electrocute": CRISIS_RISK,
    "electrocuted": CRISIS_RISK,
    "mort": CRISIS_RISK,
    "dead": CRISIS_RISK,
    "died": CRISIS_RISK,
    "deces": CRISIS_RISK,
    "gas_smell": CRISIS_RISK,
    "greve": CRISIS_RISK,
    "strike": CRISIS_RISK,
    "boycott": CRISIS_RISK,
    "boycotter": CRISIS_RISK,
    "scandale": CRISIS_RISK,
    "scandal": CRISIS_RISK,
    "journaliste": CRISIS_RISK,
    "journalist": CRISIS_RISK,
    "enquete": CRISIS_RISK,
    "investigation": CRISIS_RISK,
    "class_action": CRISIS_RISK,
    "cnil": CRISIS_RISK,
    "harcelement": CRISIS_RISK,
    "harassment": CRISIS_RISK,
    "discrimination": CRISIS_RISK,
    "phishing": CRISIS_RISK,
    "arnaque": CRISIS_RISK,
    "scam": CRISIS_RISK,
    "pollution": CRISIS_RISK,
    "licenciement": CRISIS_RISK,
    "layoff": CRISIS_RISK,
    "on_fire": CRISIS_RISK,
    "pompier": CRISIS_RISK,
    "firefighter": CRISIS_RISK,
    "evacue": CRISIS_RISK,
    "evacuated": CRISIS_RISK,
    "evacuating": CRISIS_RISK,
    "impersonation": CRISIS_RISK,
    "fake": CRISIS_RISK,
    "faux": CRISIS_RISK,
    "fraude": CRISIS_RISK,
    "fraud": CRISIS_RISK,
    "corruption": CRISIS_RISK,
    "perquisition": CRISIS_RISK,
    "raid": CRISIS_RISK,
    "petition": CRISIS_RISK,
    "influenceur": CRISIS_RISK,
    "influencer": CRISIS_RISK,
    "raciste": CRISIS_RISK,
    "racist": CRISIS_RISK,
    "sexiste": CRISIS_RISK,
    "sexist": CRISIS_RISK,
    "polemique": CRISIS_RISK,
    "backlash": CRISIS_RISK,
    "manifestation": CRISIS_RISK,
    "protest": CRISIS_RISK,
    # complaints
    "thanks_for_nothing": COMPLAINT,
    RHETORICAL: COMPLAINT,
    "panne": COMPLAINT,
    "power_cut": COMPLAINT,
    "no_heating": COMPLAINT,
    "coupure": COMPLAINT,
    "outage": COMPLAINT,
    "inadmissible": COMPLAINT,
    "honteux": COMPLAINT,
    "scandaleux": COMPLAINT,
    "unacceptable": COMPLAINT,
    "ridiculous": COMPLAINT,
    "no_answer": COMPLAINT,
    "on_hold": COMPLAINT,
    "rembourse": COMPLAINT,
    "remboursement": COMPLAINT,
    "refund": COMPLAINT,
    "overcharged": COMPLAINT,
    "nul": COMPLAINT,
    "worst": COMPLAINT,
    NEGATED_POSITIVE: COMPLAINT,
    IRONY: COMPLAINT,
    # questions
    QUESTION_FORM: QUESTION,
    # praise
    "bravo": PRAISE,
    "merci": PRAISE,
    "thank": PRAISE,
    "thanks": PRAISE,
    "kudos": PRAISE,
    "chapeau": PRAISE,
    "ravi": PRAISE,
    "ravie": PRAISE,
    "grateful": PRAISE,
    "reconnaissant": PRAISE,
    "felicitation": PRAISE,
    "recommande": PRAISE,
    "recommend": PRAISE,
    "👏": PRAISE,
    NEGATED_NEGATIVE: PRAISE,
}


# --- Severity rules ---------------------------------------------------------------------------

# rule -> folded words or phrase features that trigger it
SEVERITY_WORDS: dict[str, frozenset[str]] = {
    "harm": _words(
        "explosion incendie fire blesse blesses injured injury electrocute electrocuted mort morts "
        "dead died deces death brule burned gas_smell on_fire pompier pompiers evacue evacuent "
        "evacuated evacuating agresse agressee attacked assaulted hospitalise hospitalised "
        "hospitalized electric_shock"
    ),
    "data": _words(
        "data_leak personal_data piratage pirate hack hacked hacker hackers ransomware rib iban "
        "rancon ransom cyberattaque cyberattack privacy confidentialite password identifiant"
    ),
    "safety": _words("danger dangereux dangerous securite safety risque"),
    "media": _words(
        "journaliste journalist journalists presse press media medias bfm tf1 reportage "
        "parisien figaro monde guardian bbc television tv mediapart franceinfo"
    ),
    "legal": _words(
        "avocat lawyer plainte sue suing tribunal court mise_en_demeure class_action cnil "
        "mediateur ombudsman que_choisir 60_millions regulator regulateur"
    ),
    "vulnerable": _words(
        "bebe baby enceinte pregnant elderly handicape disabled malade sick medical_equipment "
        "respirateur oxygene dialyse dialysis nourrisson infant"
    ),
    "duration": _words("jours semaine semaines mois days week weeks months 48h 72h"),
    "viral": _words(
        "viral virale buzz rt retweet retweets partagez partager share sharing trending tendance "
        "vues views likes relaye tiktok circule circulent circulating"
    ),
    "leaving": _words(
        "resilier resilie resiliation cancel cancelling canceling switching quitte quitter "
        "concurrent competitor"
    ),
    "urgent": _words("urgent urgence emergency asap vite immediately"),
}
# "For three days" makes an outage worse; a refund three weeks late is an ordinary complaint.
OUTAGE_WORDS = _words(
    "panne pannes coupure coupures power_cut no_heating outage outages blackout noir froid cold "
    "freezing gele chauffage heating electricite electricity courant"
)
# Harm to people and personal data are crisis risks by definition, whatever the training says.
for _word in SEVERITY_WORDS["harm"] | SEVERITY_WORDS["data"]:
    LEXICON.setdefault(_word, CRISIS_RISK)

# Which rules raise which category, and where each category starts and may go.
_CRITICAL_RULES = {CRISIS_RISK: {"harm", "data", "media", "viral"}, COMPLAINT: set()}
_START = {CRISIS_RISK: HIGH, COMPLAINT: NORMAL, QUESTION: LOW, PRAISE: LOW, OTHER: LOW}
_CEILING = {
    CRISIS_RISK: CRITICAL,
    COMPLAINT: CRITICAL,
    QUESTION: HIGH,
    PRAISE: NORMAL,
    OTHER: NORMAL,
}
_RAISING = {
    CRISIS_RISK: _CRITICAL_RULES[CRISIS_RISK],
    COMPLAINT: {"vulnerable", "legal", "media", "viral", "leaving", "harm", "safety", "duration"},
    QUESTION: {"urgent", "harm", "safety"},
    PRAISE: set(),
    OTHER: set(),
}


def _up(severity: str, steps: int = 1) -> str:
    return SEVERITIES[min(SEVERITIES.index(severity) + steps, len(SEVERITIES) - 1)]


def severity_of(
    category: str, found: Features, text: str, reporters: int
) -> tuple[str, list[Reason]]:
    """Start from the category, raise for each kind of risk the text names, then for reporters."""
    severity = _START[category]
    reasons = [_reason(_BASE, category=category, severity=severity)]
    raised: list[str] = []
    for rule in sorted(_RAISING[category]):
        hit = sorted(found.words.keys() & SEVERITY_WORDS[rule])
        if not hit or (rule == "duration" and not found.words.keys() & OUTAGE_WORDS):
            continue
        word = found.words[hit[0]]
        if rule in _CRITICAL_RULES.get(category, set()):
            severity = CRITICAL
            reasons.append(_reason(_RULE_CRITICAL, word=word, rule=rule))
        else:
            raised.append(rule)
            reasons.append(_reason(_RULE, word=word, rule=rule))
    # Two kinds of aggravation are worse than one (a baby *and* three days without heating).
    if raised:
        severity = _up(severity, 1 if len(raised) < 2 or category != COMPLAINT else 2)
    letters = [c for c in text if c.isalpha()]
    shouting = (len(letters) >= 20 and sum(c.isupper() for c in letters) / len(letters) > 0.6) or (
        text.count("!") >= 3
    )
    if shouting and category in (COMPLAINT, CRISIS_RISK):
        severity = _up(severity)
        reasons.append(_reason(_SHOUT))
    if reporters >= 3:
        severity = _up(severity, 2 if reporters >= 10 else 1)
        reasons.append(_reason(_REPORTERS, count=reporters))
    ceiling = _CEILING[category]
    if SEVERITIES.index(severity) > SEVERITIES.index(ceiling):
        severity = ceiling
        reasons.append(_reason(_CAPPED, category=category, severity=ceiling))
    return severity, reasons


# --- The model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A labelled text: what training and evaluation files hold, one JSON object a line."""

    text: str
    category: str
    severity: str | None = None
    reporters: int = 1
    language: str | None = None


class LabelledFileError(ValueError):
    """A bad line in a labelled or JSON-lines file: which line, and what is wrong, translatable."""

    def __init__(self, line: int, message: str, **values: str) -> None:
        super().__init__(f"line {line}: {message.format(**values)}")
        self.line = line
        self.message = message
        self.values = values

    def render(self, tr: Tr) -> str:
        return tr("line {line}: {problem}", line=self.line, problem=tr(self.message, **self.values))


_NOT_JSON = N_("not JSON ({error})")
_NOT_OBJECT = N_("not a JSON object such as {example}")
_NO_TEXT = N_('no "text" (a string)')
_BAD_CATEGORY = N_('"category" must be one of {allowed}, not {value}')
_BAD_SEVERITY = N_('"severity" must be one of {allowed}, not {value}')
_BAD_REPORTERS = N_('"reporters" must be a whole number, 1 or more, not {value}')


def parse_request(line: str, number: int) -> Example:
    """A line to classify: ``{"text": ...}`` with optional reporters and language.

    The category is not read (``other`` stands in); ``parse_example`` requires it.
    """
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LabelledFileError(number, _NOT_JSON, error=exc.msg) from None
    if not isinstance(data, dict):
        raise LabelledFileError(number, _NOT_OBJECT, example='{"text": "..."}')
    text = data.get("text")
    if not isinstance(text, str):
        raise LabelledFileError(number, _NO_TEXT)
    reporters = data.get("reporters", 1)
    if not isinstance(reporters, int) or isinstance(reporters, bool) or reporters < 1:
        raise LabelledFileError(number, _BAD_REPORTERS, value=json.dumps(reporters))
    severity = data.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise LabelledFileError(
            number, _BAD_SEVERITY, allowed=", ".join(SEVERITIES), value=json.dumps(severity)
        )
    language = data.get("language")
    return Example(
        text=text,
        category=data.get("category") if data.get("category") in CATEGORIES else OTHER,
        severity=severity,
        reporters=reporters,
        language=language if language in LANGUAGES else None,
    )


def parse_example(line: str, number: int) -> Example:
    """One labelled JSON line as an Example, or LabelledFileError saying what is wrong."""
    example = parse_request(line, number)
    category = json.loads(line).get("category")
    if category not in CATEGORIES:
        raise LabelledFileError(
            number, _BAD_CATEGORY, allowed=", ".join(CATEGORIES), value=json.dumps(category)
        )
    return example


def read_examples(lines: Iterable[str]) -> Iterator[Example]:
    """Examples from JSON lines; blank lines and lines starting with // are skipped."""
    for number, line in enumerate(lines, start=1):
        if line.strip() and not line.lstrip().startswith("//"):
            yield parse_example(line, number)


class Model:
    """Multinomial naive Bayes over binary features, with the lexicon on top.

    Uniform class priors: how often each category appears in the training set says
    nothing about what will be reported, and would bias the small categories away.
    """

    ALPHA = 0.5
    COMMON = 0.35
    # How much more likely than "other" a category must be to be chosen: a text that
    # says little stays "other" rather than being forced into a category by one weak word.
    MARGIN = 1.0

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {c: Counter() for c in CATEGORIES}
        self.totals: Counter[str] = Counter()
        self.vocabulary: set[str] = set()
        self.remembered: dict[str, str] = {}  # folded text -> category a relay gave it
        self.examples = 0
        self.documents: Counter[str] = Counter()  # feature -> how many texts have it
        self.ignored: frozenset[str] = frozenset()
        self._log: dict[str, dict[str, float]] | None = None

    def learn(self, text: str, category: str, weight: int = 1, remember: bool = False) -> None:
        names = set(features(text).names)
        self.documents.update(names)
        for name in names:
            self.counts[category][name] += weight
        self.totals[category] += weight * len(names)
        self.vocabulary |= names
        self.examples += 1
        if remember:
            self.remembered[_key(text)] = category
        self._log = None

    def _weights(self) -> dict[str, dict[str, float]]:
        if self._log is None:
            # A word in a third of all texts, whatever their category (the company's own
            # name), tells nothing: it would only let noise decide between equals.
            if self.examples >= 20:
                limit = self.COMMON * self.examples
                self.ignored = frozenset(n for n, df in self.documents.items() if df > limit)
            size = len(self.vocabulary) or 1
            self._log = {
                category: {
                    name: math.log(
                        (self.counts[category][name] + self.ALPHA)
                        / (self.totals[category] + self.ALPHA * size)
                    )
                    for name in self.vocabulary
                }
                for category in CATEGORIES
            }
        return self._log

    def scores(self, found: Features) -> dict[str, dict[str, float]]:
        """category -> feature -> its log weight (model + lexicon), for the features seen."""
        weights = self._weights()
        result: dict[str, dict[str, float]] = {c: {} for c in CATEGORIES}
        for name in set(found.names) - self.ignored:
            lexical = LEXICON.get(name)
            if name not in self.vocabulary and lexical is None:
                continue
            for category in CATEGORIES:
                value = weights[category].get(name, 0.0)
                if lexical == category:
                    value += LEXICON_WEIGHT
                result[category][name] = value
        return result

    def classify(self, text: str, *, reporters: int = 1, language: str | None = None) -> Triage:
        found = features(text)
        lang = language if language in LANGUAGES else detect_language(text)
        remembered = self.remembered.get(_key(text))
        details: list[Reason]
        if remembered is not None:
            category = remembered
            details = [_reason(_CORRECTED, category=category)]
        else:
            category, details = self._decide(found)
        severity, severity_reasons = severity_of(category, found, text, max(1, reporters))
        details += severity_reasons
        english = Tr("en")
        return Triage(
            category=category,
            severity=severity,
            reasons=[reason.render(english) for reason in details],
            language=lang,
            details=tuple(details),
        )

    def _decide(self, found: Features) -> tuple[str, list[Reason]]:
        scores = self.scores(found)
        if not scores[OTHER]:
            return OTHER, [_reason(_NOTHING, category=OTHER)]
        totals = {c: sum(scores[c].values()) for c in CATEGORIES}
        ranked = sorted(CATEGORIES, key=lambda c: (-totals[c], CATEGORIES.index(c)))
        winner, runner_up = ranked[0], ranked[1]
        if winner != OTHER and totals[winner] - totals[OTHER] < self.MARGIN:
            winner, runner_up = OTHER, winner
        pushes = sorted(
            ((scores[winner][name] - scores[runner_up][name], name) for name in scores[winner]),
            reverse=True,
        )
        reasons: list[Reason] = []
        for push, name in pushes:
            if push < 0.7 or len(reasons) >= 4:
                break
            reasons.append(self._word_reason(name, found, winner))
        if not reasons:
            reasons.append(_reason(_NOTHING, category=winner))
        return winner, reasons

    @staticmethod
    def _word_reason(name: str, found: Features, category: str) -> Reason:
        if name == IRONY:
            return _reason(_MIXED, category=category)
        if name == RHETORICAL:
            return _reason(_RHETORICAL, category=category)
        if name == QUESTION_FORM:
            return _reason(_QUESTION_FORM, category=category)
        word = found.shown.get(name, name)
        if name in (NEGATED_POSITIVE, NEGATED_NEGATIVE):
            return _reason(_NEGATED, word=word, category=category)
        return _reason(_WORD, word=word, category=category)


def _key(text: str) -> str:
    """Texts that differ only in case, accents, spaces or links are the same text."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(_URL.sub(" ", text))))


def train(examples: Iterable[Example] = (), *, shipped: bool = True, weight: int = 1) -> Model:
    """A model from the shipped training set and/or other examples (e.g. relays' corrections)."""
    model = Model()
    if shipped:
        for example in shipped_examples():
            model.learn(example.text, example.category)
    for example in examples:
        model.learn(example.text, example.category, weight=weight, remember=True)
    return model


def shipped_examples() -> list[Example]:
    with TRAINING_FILE.open(encoding="utf-8") as handle:
        return list(read_examples(handle))


@lru_cache(maxsize=1)
def default_model() -> Model:
    """The shipped model, built once per process on first use."""
    return train()


def classify(
    text: str, *, reporters: int = 1, language: str | None = None, model: Model | None = None
) -> Triage:
    """Category, severity and reasons for a reported text (French or English).

    ``reporters`` is how many people reported the same thing; ``language`` skips the
    detection when known; ``model`` defaults to the shipped one (see
    ``bot.response.service.triage`` for the one that includes relays' corrections).
    """
    return (model or default_model()).classify(text, reporters=reporters, language=language)


# --- Evaluation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassScore:
    """Precision and recall of one category over a labelled set."""

    category: str
    support: int  # how many examples carry this label
    predicted: int  # how many the classifier gave this category
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class Evaluation:
    """How a model does on a labelled set: per category, overall, and on severity."""

    classes: tuple[ClassScore, ...]
    total: int
    correct: int
    severity_total: int  # examples that carry a severity label
    severity_correct: int
    severity_within_one: int
    confusion: dict[tuple[str, str], int]  # (label, predicted) -> count
    mistakes: tuple[tuple[Example, Triage], ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def macro_f1(self) -> float:
        scored = [c for c in self.classes if c.support]
        return sum(c.f1 for c in scored) / len(scored) if scored else 0.0

    @property
    def severity_accuracy(self) -> float:
        return self.severity_correct / self.severity_total if self.severity_total else 0.0

    def score(self, category: str) -> ClassScore:
        return next(c for c in self.classes if c.category == category)


def evaluate(examples: Iterable[Example], model: Model | None = None) -> Evaluation:
    """Classify every example and compare with its labels."""
    model = model or default_model()
    confusion: Counter[tuple[str, str]] = Counter()
    mistakes: list[tuple[Example, Triage]] = []
    severity_total = severity_correct = within_one = 0
    for example in examples:
        result = model.classify(
            example.text, reporters=example.reporters, language=example.language
        )
        confusion[(example.category, result.category)] += 1
        if example.severity is not None:
            severity_total += 1
            distance = abs(SEVERITIES.index(example.severity) - SEVERITIES.index(result.severity))
            severity_correct += distance == 0
            within_one += distance <= 1
        if result.category != example.category or (
            example.severity is not None and result.severity != example.severity
        ):
            mistakes.append((example, result))
    classes = tuple(
        ClassScore(
            category=category,
            support=sum(n for (label, _), n in confusion.items() if label == category),
            predicted=sum(n for (_, guess), n in confusion.items() if guess == category),
            correct=confusion[(category, category)],
        )
        for category in CATEGORIES
    )
    return Evaluation(
        classes=classes,
        total=sum(confusion.values()),
        correct=sum(n for (label, guess), n in confusion.items() if label == guess),
        severity_total=severity_total,
        severity_correct=severity_correct,
        severity_within_one=within_one,
        confusion=dict(confusion),
        mistakes=tuple(mistakes),
    )
