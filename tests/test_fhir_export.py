"""FHIR R4 export: validates with fhir.resources.R4B, LOINC coded, pseudonymous, reproducible."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from storage.models import Client, Entry
from storage.reports import fhir
from storage.reports.fhir import fhir_bundle, fhir_json

TELEGRAM_ID = 7349218865
CHAT_ID = 7349218866
AT = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
EXPORTED = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
SITUATION = "Zebra-crossing argument with Marta 😞 — אני תמיד נכשל"
NOTE = "Slept in the blue armchair again"
PHQ9_CODES = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
              "44253-3", "44260-8")
GAD7_CODES = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")
ANSWERS = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}


def _client() -> Client:
    return Client(id=3, pseudonym="C-FHIR01", telegram_user_id=TELEGRAM_ID, chat_id=CHAT_ID,
                  language="en")


def _entry(entry_id: int, kind: str, data: dict[str, Any], at: datetime = AT) -> Entry:
    return Entry(id=entry_id, client_id=3, entry_type=kind, flow_id=kind, flow_version=2,
                 status="completed", data=data, started_at=at - timedelta(minutes=4),
                 completed_at=at, created_at=at)


def _phq9(entry_id: int, values: list[int], at: datetime = AT) -> Entry:
    total = sum(values)
    return _entry(entry_id, "phq9", {
        "instrument": "phq9", "total": total, "max_total": 27, "band": "moderate",
        "items": [{"code": code, "value": value, "answer_code": ANSWERS[value]}
                  for code, value in zip(PHQ9_CODES, values, strict=True)],
        "difficulty": {"code": "69722-7", "value": 1, "answer_code": "LA6573-5"}}, at)


def _entries() -> list[Entry]:
    gad = [1, 2, 1, 0, 0, 1, 2]
    return [
        _phq9(1, [2, 2, 1, 2, 1, 1, 1, 0, 1]),
        _entry(2, "gad7", {"instrument": "gad7", "total": sum(gad), "max_total": 21,
                           "band": "mild",
                           "items": [{"code": c, "value": v, "answer_code": ANSWERS[v]}
                                     for c, v in zip(GAD7_CODES, gad, strict=True)]},
               AT + timedelta(minutes=5)),
        _entry(3, "thought_record", {
            "situation": SITUATION,
            "moods": [{"mood": "anxious", "intensity": 80}, {"mood": "Sad", "intensity": 40}],
            "automatic_thoughts": ["I will fail", "They will laugh"],
            "hot_thought": "I will fail", "evidence_for": "I failed once.",
            "evidence_against": "I passed twice.", "balanced_thought": "I might pass.",
            "belief": 65,
            "moods_after": [{"mood": "anxious", "intensity": 30},
                            {"mood": "Sad", "intensity": 20}]}, AT + timedelta(hours=1)),
        _entry(4, "mood_checkin", {"scale": "mood_0_10", "mood": 6,
                                   "emotions": ["anxious", "hopeful"], "other_emotion": None,
                                   "note": NOTE}, AT + timedelta(hours=2)),
        _entry(5, "exercise", {"exercise": "box_breathing", "suds_scale": "suds_0_10",
                               "suds_before": 7, "suds_after": 3,
                               "run": {"rounds_completed": 4, "duration_s": 95,
                                       "stopped": False}}, AT + timedelta(hours=3)),
    ]


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _by_questionnaire(bundle: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(r for r in _resources(bundle, "QuestionnaireResponse")
                if r["questionnaire"].startswith(prefix))


def _observation(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    return next(r for r in _resources(bundle, "Observation")
                if r["code"]["coding"][0]["code"] == code)


def test_bundle_validates_and_survives_a_round_trip_unchanged() -> None:
    bundle = fhir_bundle(_entries(), _client(), exported_at=EXPORTED)
    model = Bundle.model_validate(bundle)
    assert model.model_dump(mode="json", exclude_none=True) == bundle
    assert Bundle.model_validate_json(fhir_json(_entries(), _client(), exported_at=EXPORTED))
    assert bundle["type"] == "collection" and bundle["timestamp"] == "2025-02-01T12:00:00Z"
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "QuestionnaireResponse", "Observation", "QuestionnaireResponse", "Observation",
        "QuestionnaireResponse", "Observation", "Observation"]
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
        assert entry["resource"]["subject"]["reference"] == "Patient/C-FHIR01"


def test_phq9_response_carries_loinc_items_and_answer_codes() -> None:
    bundle = fhir_bundle(_entries(), _client(), exported_at=EXPORTED)
    response = _by_questionnaire(bundle, "http://loinc.org/q/44249-1")
    assert response["questionnaire"] == "http://loinc.org/q/44249-1"
    assert response["status"] == "completed"
    assert response["authored"] == "2025-01-15T09:30:00Z"
    items = {item["linkId"]: item["answer"][0]["valueCoding"] for item in response["item"]}
    assert list(items) == [*PHQ9_CODES, "69722-7"]
    assert items["44250-9"] == {"system": "http://loinc.org", "code": "LA6570-1",
                                "display": "More than half the days"}
    assert items["44260-8"]["code"] == "LA6569-3"
    assert items["69722-7"] == {"system": "http://loinc.org", "code": "LA6573-5",
                                "display": "Somewhat difficult"}


def test_total_observations_are_derived_from_their_responses() -> None:
    bundle = fhir_bundle(_entries(), _client(), exported_at=EXPORTED)
    full_urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    for panel, total_code, total, band in (("44249-1", "44261-6", 11, "moderate"),
                                           ("69737-5", "70274-6", 7, "mild")):
        response = _by_questionnaire(bundle, f"http://loinc.org/q/{panel}")
        observation = _observation(bundle, total_code)
        assert observation["code"]["coding"] == [{"system": "http://loinc.org",
                                                  "code": total_code}]
        assert observation["category"][0]["coding"][0]["code"] == "survey"
        assert observation["valueQuantity"] == {
            "value": total, "unit": "{score}", "system": "http://unitsofmeasure.org",
            "code": "{score}"}
        assert observation["derivedFrom"] == [{"reference": full_urls[response["id"]]}]
        assert observation["interpretation"][0]["coding"][0]["display"] == band
        assert observation["effectiveDateTime"] == response["authored"]
    notes = " ".join(n["text"] for n in _observation(bundle, "44261-6")["note"])
    assert "item 9" in notes
    assert "item 9" not in json.dumps(_observation(bundle, "70274-6"))


def test_no_telegram_ids_anywhere_and_no_client_text_in_questionnaire_resources() -> None:
    text = fhir_json(_entries(), _client(), exported_at=EXPORTED)
    assert str(TELEGRAM_ID) not in text and str(CHAT_ID) not in text
    bundle = json.loads(text)
    questionnaires = [e["resource"] for e in bundle["entry"]
                      if "loinc.org/q/" in e["resource"].get("questionnaire", "")
                      or e["resource"].get("derivedFrom")]
    assert len(questionnaires) == 4
    leaked = json.dumps(questionnaires, ensure_ascii=False)
    for private in ("Zebra", "Marta", "I will fail", "blue armchair", "hopeful"):
        assert private not in leaked


def test_thought_record_response_is_the_clients_own_words() -> None:
    bundle = fhir_bundle(_entries(), _client(), exported_at=EXPORTED)
    response = _by_questionnaire(bundle, fhir.THOUGHT_RECORD_QUESTIONNAIRE)
    assert response["questionnaire"] == (
        "https://cbt-companion.example/fhir/Questionnaire/thought-record|2")
    items = response["item"]
    answers = {i["linkId"]: [next(iter(a.values())) for a in i["answer"]]
               for i in items if "answer" in i}
    assert answers["situation"] == [SITUATION]
    assert answers["automatic-thoughts"] == ["I will fail", "They will laugh"]
    assert answers["balanced-thought"] == ["I might pass."] and answers["belief"] == [65]
    moods = [{child["linkId"]: child["answer"][0] for child in group["item"]}
             for group in items if group["linkId"] == "moods"]
    assert moods == [{"moods.mood": {"valueString": "anxious"},
                      "moods.intensity": {"valueInteger": 80}},
                     {"moods.mood": {"valueString": "Sad"},
                      "moods.intensity": {"valueInteger": 40}}]
    assert [g["item"][1]["answer"][0]["valueInteger"] for g in items
            if g["linkId"] == "moods-after"] == [30, 20]


def test_mood_and_exercise_observations_use_local_codes() -> None:
    bundle = fhir_bundle(_entries(), _client(), exported_at=EXPORTED)
    mood = _observation(bundle, "mood-0-10")
    assert mood["code"]["coding"][0]["system"] == fhir.MEASURES
    assert mood["valueInteger"] == 6 and mood["note"] == [{"text": NOTE}]
    exercise = _observation(bundle, "relaxation-exercise")
    components = {c["code"]["coding"][0]["code"]: c for c in exercise["component"]}
    assert components["suds-0-10-before"]["valueInteger"] == 7
    assert components["suds-0-10-after"]["valueInteger"] == 3
    assert components["exercise-duration"]["valueQuantity"]["value"] == 95
    assert components["exercise-stopped"]["valueBoolean"] is False
    assert exercise["valueCodeableConcept"]["coding"][0]["code"] == "box_breathing"
    assert exercise["effectivePeriod"] == {"start": "2025-01-15T12:26:00Z",
                                           "end": "2025-01-15T12:30:00Z"}


def test_output_is_reproducible_whatever_the_order_of_entries() -> None:
    first = fhir_json(_entries(), _client(), exported_at=EXPORTED)
    assert fhir_json(list(reversed(_entries())), _client(), exported_at=EXPORTED) == first
    bundle = json.loads(first)
    ids = [uuid.UUID(e["resource"]["id"]) for e in bundle["entry"]]
    assert len(set(ids)) == len(ids) and {i.version for i in ids} == {5}
    later = json.loads(fhir_json(_entries(), _client(), exported_at=EXPORTED + timedelta(1)))
    assert [e["fullUrl"] for e in later["entry"]] == [e["fullUrl"] for e in bundle["entry"]]


def test_drafts_unknown_types_and_empty_input() -> None:
    draft = _phq9(9, [0] * 9)
    draft.status = "draft"
    other = _entry(10, "behavioural_activation", {"activity": "walk"})
    bundle = fhir_bundle([draft, other], _client(), exported_at=EXPORTED)
    assert bundle["entry"] == []
    Bundle.model_validate(bundle)


def test_item9_zero_has_no_flag_and_bands_follow_the_total() -> None:
    bundle = fhir_bundle([_phq9(1, [3, 3, 3, 3, 3, 3, 2, 0, 0])], _client(),
                         exported_at=EXPORTED)
    observation = _observation(bundle, "44261-6")
    assert observation["interpretation"][0]["coding"][0]["code"] == "severe"
    assert "item 9" not in json.dumps(observation["note"])


def test_invalid_pseudonym_and_invalid_bundles_raise_value_error_without_values() -> None:
    client = _client()
    client.pseudonym = "C FHIR/01"
    with pytest.raises(ValueError, match="pseudonym"):
        fhir_bundle(_entries(), client, exported_at=EXPORTED)
    with pytest.raises(ValueError, match="aware"):
        fhir_bundle(_entries(), _client(), exported_at=EXPORTED.replace(tzinfo=None))
    broken = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Observation", "status": "final", "valueString": SITUATION}}]}
    with pytest.raises(ValueError, match="code") as raised:
        fhir._validate(broken)
    assert "Zebra" not in str(raised.value)
