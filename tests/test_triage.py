"""Triage of reported mentions: category, severity and the reasons a relay reads."""

from __future__ import annotations

import dataclasses

import pytest

from bot.i18n import Tr
from bot.response.triage import (
    CATEGORIES,
    SEVERITIES,
    Example,
    LabelledFileError,
    classify,
    parse_example,
    shipped_examples,
    train,
)


def test_a_complaint_says_which_word_decided() -> None:
    result = classify("Encore une panne de courant à Quimper, Norvel ne répond pas.")
    assert result.category == "complaint"
    assert "“panne” → complaint" in result.reasons
    assert result.language == "fr"


def test_the_result_is_frozen_and_uses_the_published_vocabulary() -> None:
    result = classify("Where can I find my customer number?")
    assert result.category in CATEGORIES and result.severity in SEVERITIES
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.category = "praise"  # type: ignore[misc]


def test_a_question_is_low_unless_urgent() -> None:
    plain = classify("How do I update my bank details on the Norvel app?")
    assert (plain.category, plain.severity) == ("question", "low")
    assert "asked as a question → question" in plain.reasons
    urgent = classify("Urgent: how do I reach Norvel about the gas meter, it's dangerous?")
    assert urgent.category == "question"
    assert urgent.severity != "low"


def test_reporters_raise_the_severity_and_say_so() -> None:
    text = "Mon conseiller Norvel m'a raccroché au nez, pas content."
    alone = classify(text)
    three = classify(text, reporters=3)
    ten = classify(text, reporters=10)
    assert alone.category == three.category == ten.category == "complaint"
    assert (alone.severity, three.severity, ten.severity) == ("normal", "high", "critical")
    assert "3 reporters → severity up" in three.reasons
    assert not any("reporter" in reason for reason in alone.reasons)


def test_a_data_leak_is_a_critical_crisis_risk() -> None:
    result = classify("A file with Norvel customer data is on a hacking forum: data breach?")
    assert (result.category, result.severity) == ("crisis_risk", "critical")
    assert any("(personal data) → critical" in reason for reason in result.reasons)


def test_a_crisis_risk_starts_high_without_aggravation() -> None:
    result = classify("Les syndicats annoncent une grève chez Norvel lundi prochain.")
    assert (result.category, result.severity) == ("crisis_risk", "high")
    assert "crisis risk → high to start with" in result.reasons


def test_a_complaint_with_a_vulnerable_person_and_duration_is_critical() -> None:
    result = classify(
        "Sans chauffage depuis 3 jours avec un bébé de deux mois, Norvel ne rappelle pas."
    )
    assert result.category == "complaint"
    assert result.severity == "critical"
    assert "“bébé” (vulnerable person) → severity up" in result.reasons
    assert "“jours” (lasting for a while) → severity up" in result.reasons


def test_praise_never_goes_above_normal_however_many_report_it() -> None:
    result = classify("Bravo à l'équipe Norvel pour le prix de l'apprentissage !", reporters=20)
    assert (result.category, result.severity) == ("praise", "normal")
    assert "praise stays at normal at most" in result.reasons


def test_negation_turns_praise_into_a_complaint_and_back() -> None:
    unhappy = classify("Pas du tout satisfaite de Norvel cette année.")
    assert unhappy.category == "complaint"
    assert "“satisfaite” negated → complaint" in unhappy.reasons
    happy = classify("Never had a single problem with Norvel, switching was easy.")
    assert happy.category == "praise"
    assert "“problem” negated → praise" in happy.reasons


def test_thanks_next_to_a_grievance_reads_as_irony() -> None:
    result = classify("Merci Norvel pour cette troisième coupure de la semaine 👏")
    assert result.category == "complaint"
    assert "thanks and a grievance together (irony) → complaint" in result.reasons


def test_shouting_raises_a_complaint() -> None:
    calm = classify("Ma facture Norvel est fausse.")
    loud = classify("MA FACTURE NORVEL EST ENCORE FAUSSE, PERSONNE NE RÉPOND !!!")
    assert calm.category == loud.category == "complaint"
    assert (calm.severity, loud.severity) == ("normal", "high")
    assert "written in capitals or with many exclamation marks → severity up" in loud.reasons


def test_an_empty_or_meaningless_text_is_other_and_low() -> None:
    for text in ("", "https://x.com/someone/status/1", "@norvel"):
        result = classify(text)
        assert (result.category, result.severity) == ("other", "low")
        assert result.reasons[0] == "no telling word → other"


def test_reasons_read_in_the_relays_language() -> None:
    result = classify("Encore une panne chez Norvel, c'est inadmissible.", reporters=4)
    french = result.explain(Tr("fr"))
    assert "«\u202fpanne\u202f» → plainte" in french
    assert "4\u00a0personnes l’ont signalé → gravité en hausse" in french or (
        "4 personnes l’ont signalé → gravité en hausse" in french
    )
    assert result.explain(Tr("en")) == result.reasons


def test_the_language_is_detected_or_taken_as_given() -> None:
    assert classify("The bill is wrong again").language == "en"
    assert classify("La facture est encore fausse").language == "fr"
    assert classify("La facture est encore fausse", language="en").language == "en"


def test_a_model_with_corrections_remembers_the_corrected_text() -> None:
    text = "Norvel's new ad with the dancing meter is something else"
    model = train([Example(text=text, category="praise")])
    result = classify(text + "  ", model=model)
    assert result.category == "praise"
    assert result.reasons[0] == "a relay corrected this same text to praise"


def test_labelled_lines_name_what_is_wrong() -> None:
    assert parse_example('{"text": "hi", "category": "other"}', 1).category == "other"
    with pytest.raises(LabelledFileError, match="line 7: not JSON"):
        parse_example("{oops", 7)
    with pytest.raises(LabelledFileError, match='"category" must be one of'):
        parse_example('{"text": "hi", "category": "rant"}', 2)
    with pytest.raises(LabelledFileError, match='"reporters" must be a whole number'):
        parse_example('{"text": "hi", "category": "other", "reporters": 0}', 3)


def test_the_training_set_covers_every_category_in_both_languages() -> None:
    examples = shipped_examples()
    for category in CATEGORIES:
        texts = [e.text for e in examples if e.category == category]
        assert len(texts) >= 20, category
