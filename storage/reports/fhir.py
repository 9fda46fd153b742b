"""A client's homework as a FHIR R4 Bundle (type collection) for a clinician's record system.

PHQ-9 and GAD-7 become a QuestionnaireResponse against the LOINC form plus an Observation
for the total; thought records and safety plans become QuestionnaireResponses against the
project's own Questionnaires; mood check-ins and relaxation exercises become Observations
with local codes. References use the client's pseudonym, never a Telegram id.

Built as plain dicts, then validated with fhir.resources.R4B (the package's root is R5;
R4B reads and writes R4 4.0.1 JSON for these resources). Resource ids are uuid5 of the
pseudonym, entry id and role, so the same entries give the same file.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from storage.models import Client, Entry
from storage.reports.progress import severity_band

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PROJECT = "https://cbt-companion.example/fhir"
MEASURES = f"{PROJECT}/CodeSystem/measures"
EMOTIONS = f"{PROJECT}/CodeSystem/emotions"
EXERCISES = f"{PROJECT}/CodeSystem/exercises"
SEVERITY_BANDS = f"{PROJECT}/CodeSystem/severity-band"
PSEUDONYMS = f"{PROJECT}/NamingSystem/client-pseudonym"
THOUGHT_RECORD_QUESTIONNAIRE = f"{PROJECT}/Questionnaire/thought-record"
SAFETY_PLAN_QUESTIONNAIRE = f"{PROJECT}/Questionnaire/safety-plan"

# Every uuid in an export derives from this namespace: same input, same ids.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{PROJECT}/export")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_FHIR_CODE = re.compile(r"[^\s]+( [^\s]+)*")


# LOINC facts kept here because storage may not import flows (reference/clinical.md §2).
class _Instrument:
    def __init__(self, name: str, panel: str, total: str, items: Sequence[tuple[str, str]]
                 ) -> None:
        self.name, self.panel, self.total = name, panel, total
        self.item_text = dict(items)


_INSTRUMENTS = {
    "phq9": _Instrument("PHQ-9", "44249-1", "44261-6", (
        ("44250-9", "Little interest or pleasure in doing things"),
        ("44255-8", "Feeling down, depressed, or hopeless"),
        ("44259-0", "Trouble falling or staying asleep, or sleeping too much"),
        ("44254-1", "Feeling tired or having little energy"),
        ("44251-7", "Poor appetite or overeating"),
        ("44258-2", "Feeling bad about yourself"),
        ("44252-5", "Trouble concentrating on things"),
        ("44253-3", "Moving or speaking slowly, or being fidgety or restless"),
        ("44260-8", "Thoughts that you would be better off dead or of hurting yourself"),
        ("69722-7", "How difficult have these problems made it to do your work, take care "
                    "of things at home, or get along with other people"),
    )),
    "gad7": _Instrument("GAD-7", "69737-5", "70274-6", (
        ("69725-0", "Feeling nervous, anxious, or on edge"),
        ("68509-9", "Not being able to stop or control worrying"),
        ("69733-4", "Worrying too much about different things"),
        ("69734-2", "Trouble relaxing"),
        ("69735-9", "Being so restless that it is hard to sit still"),
        ("69689-8", "Becoming easily annoyed or irritable"),
        ("69736-7", "Feeling afraid, as if something awful might happen"),
    )),
}
PHQ9_ITEM9 = "44260-8"
PHQ9_DIFFICULTY = "69722-7"
_ANSWER_CODES = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}
_DIFFICULTY_CODES = {0: "LA6572-7", 1: "LA6573-5", 2: "LA6575-0", 3: "LA6574-3"}
_ANSWER_DISPLAY = {
    "LA6568-5": "Not at all", "LA6569-3": "Several days",
    "LA6570-1": "More than half the days", "LA6571-9": "Nearly every day",
    "LA6572-7": "Not difficult at all", "LA6573-5": "Somewhat difficult",
    "LA6575-0": "Very difficult", "LA6574-3": "Extremely difficult",
}

# (data key, linkId, item text); moods are groups, handled apart.
_THOUGHT_RECORD_TEXT = (
    ("situation", "situation", "Situation"),
    ("hot_thought", "hot-thought", "Hot thought"),
    ("evidence_for", "evidence-for", "Evidence that supports the hot thought"),
    ("evidence_against", "evidence-against", "Evidence that does not support the hot thought"),
    ("balanced_thought", "balanced-thought", "Alternative or balanced thought"),
)
_SAFETY_PLAN_TEXT = (
    ("warning_signs", "warning-signs", "Warning signs"),
    ("coping_strategies", "coping-strategies", "Internal coping strategies"),
    ("people_and_places", "people-and-places", "People and places that provide distraction"),
    ("people_to_ask", "people-to-ask", "People I can ask for help"),
    ("professionals", "professionals", "Professionals or agencies to contact"),
    ("safer_environment", "safer-environment", "Making the environment safer"),
    ("reasons_for_living", "reasons-for-living", "Reasons for living"),
)


def fhir_bundle(entries: Sequence[Entry], client: Client, *, exported_at: datetime
                ) -> dict[str, Any]:
    """A FHIR R4 Bundle (collection) of the completed entries, as a JSON-ready dict.

    Validated with fhir.resources.R4B; raises ValueError if the pseudonym is not a valid
    FHIR id or the bundle does not validate. The error names fields, never their values.
    """
    bundle = _build(entries, client, exported_at)
    _validate(bundle)
    return bundle


def fhir_json(entries: Sequence[Entry], client: Client, *, exported_at: datetime) -> str:
    """`fhir_bundle` as pretty JSON text (UTF-8 characters kept, newline at the end).

    The text itself is what fhir.resources validates, so what is written is what passed.
    """
    text = json.dumps(_build(entries, client, exported_at), ensure_ascii=False, indent=2)
    _validate(text)
    return text + "\n"


def _build(entries: Sequence[Entry], client: Client, exported_at: datetime
           ) -> dict[str, Any]:
    if exported_at.tzinfo is None:
        raise ValueError("exported_at must be timezone-aware")
    pseudonym = client.pseudonym
    if not _FHIR_ID.fullmatch(pseudonym or ""):
        raise ValueError("the client pseudonym is not a valid FHIR id")
    subject = {"reference": f"Patient/{pseudonym}",
               "identifier": {"system": PSEUDONYMS, "value": pseudonym}}
    chosen = sorted((e for e in entries if e.status != "draft" and e.completed_at is not None),
                    key=lambda e: (e.completed_at, e.id))
    bundle_entries: list[dict[str, Any]] = []
    for entry in chosen:
        if entry.id is None:
            raise ValueError("entries need an id for their FHIR resource ids")
        builder = _BUILDERS.get(entry.entry_type)
        if builder is not None:
            bundle_entries.extend(builder(entry, subject, pseudonym))
    seed = f"{pseudonym}/bundle/{_instant(exported_at)}/" + ",".join(str(e.id) for e in chosen)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, seed)),
        # Mark the whole file as restricted: it holds mental-health information.
        "meta": {"security": [{"system": CONFIDENTIALITY, "code": "R",
                               "display": "restricted"}]},
        "type": "collection",
        "timestamp": _instant(exported_at),
        "entry": bundle_entries,
    }
    return bundle


def _validate(bundle: dict[str, Any] | str) -> None:
    """Parse the bundle (dict or JSON text) with fhir.resources.R4B; ValueError if invalid.

    Values are not compared after a round trip here (the tests do that): dumping a year
    of entries back out would double the export's time.
    """
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        if isinstance(bundle, str):
            Bundle.model_validate_json(bundle)
        else:
            Bundle.model_validate(bundle)
    except ValidationError as exc:
        # Only locations and messages: input values may be what the client wrote.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)[:5])
        raise ValueError(f"the FHIR bundle does not validate: {problems}") from None


# ---------------------------------------------------------------------------- resources

def _resource_id(pseudonym: str, entry: Entry, role: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{pseudonym}/entry/{entry.id}/{entry.entry_type}/{role}"))


def _bundle_entry(resource_id: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource_id}", "resource": {**resource, "id": resource_id}}


def _instant(moment: datetime) -> str:
    """ISO 8601 in UTC (as stored) to the second, written "Z" as fhir.resources writes it."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(value: Any) -> str | None:
    """Client text, trimmed; None when there is nothing to say (FHIR forbids empty strings)."""
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None


def _string_item(link_id: str, text: str, value: Any) -> dict[str, Any] | None:
    answer = _text(value)
    if answer is None:
        return None
    return {"linkId": link_id, "text": text, "answer": [{"valueString": answer}]}


def _survey(text: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey",
                         "display": "Survey"}], "text": text}]


def _questionnaire(entry: Entry, subject: dict[str, Any], pseudonym: str
                   ) -> list[dict[str, Any]]:
    instrument = _INSTRUMENTS[entry.entry_type]
    data, authored = entry.data, _instant(_completed(entry))
    items = [item for item in data.get("items") or [] if isinstance(item, Mapping)]
    if isinstance(data.get("difficulty"), Mapping):
        items.append(data["difficulty"])
    response_items = []
    for item in items:
        code, value = str(item.get("code", "")), _int(item.get("value"), 0, 3)
        if code not in instrument.item_text or value is None:
            continue
        codes = _DIFFICULTY_CODES if code == PHQ9_DIFFICULTY else _ANSWER_CODES
        answer_code = str(item.get("answer_code") or codes[value])
        coding = {"system": LOINC, "code": answer_code}
        if answer_code in _ANSWER_DISPLAY:
            coding["display"] = _ANSWER_DISPLAY[answer_code]
        response_items.append({"linkId": code, "text": instrument.item_text[code],
                               "answer": [{"valueCoding": coding}]})
    response_id = _resource_id(pseudonym, entry, "response")
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{LOINC}/q/{instrument.panel}",
        "status": "completed",
        "subject": subject,
        "authored": authored,
    }
    if response_items:
        response["item"] = response_items
    resources = [_bundle_entry(response_id, response)]

    total = _int(data.get("total"), 0, 3 * sum(code != PHQ9_DIFFICULTY
                                                for code in instrument.item_text))
    if total is not None:
        band = severity_band(entry.entry_type, total)
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "category": _survey("Survey"),
            "code": {"coding": [{"system": LOINC, "code": instrument.total}],
                     "text": f"{instrument.name} total score"},
            "subject": subject,
            "effectiveDateTime": authored,
            "valueQuantity": {"value": total, "unit": "{score}", "system": UCUM,
                              "code": "{score}"},
            "interpretation": [{"coding": [{"system": SEVERITY_BANDS,
                                            "code": band.replace(" ", "-"),
                                            "display": band}],
                                "text": f"{instrument.name} severity band: {band}"}],
            "derivedFrom": [{"reference": f"urn:uuid:{response_id}"}],
        }
        notes = [f"Severity band: {band} (describes the score, not a diagnosis)."]
        if entry.entry_type == "phq9" and any(
                item.get("code") == PHQ9_ITEM9 and (_int(item.get("value"), 0, 3) or 0) > 0
                for item in items):
            notes.append("PHQ-9 item 9 (thoughts of death or self-harm) answered above "
                         "'not at all': review risk.")
        observation["note"] = [{"text": note} for note in notes]
        resources.append(_bundle_entry(_resource_id(pseudonym, entry, "total"), observation))
    return resources


def _mood_groups(link_id: str, text: str, moods: Any) -> list[dict[str, Any]]:
    groups = []
    for row in moods if isinstance(moods, list) else []:
        if not isinstance(row, Mapping):
            continue
        children = []
        name = _text(row.get("mood"))
        if name is not None:
            children.append({"linkId": f"{link_id}.mood", "text": "Mood",
                             "answer": [{"valueString": name}]})
        intensity = _int(row.get("intensity"), 0, 100)
        if intensity is not None:
            children.append({"linkId": f"{link_id}.intensity", "text": "Intensity (0-100)",
                             "answer": [{"valueInteger": intensity}]})
        if children:
            groups.append({"linkId": link_id, "text": text, "item": children})
    return groups


def _thought_record(entry: Entry, subject: dict[str, Any], pseudonym: str
                    ) -> list[dict[str, Any]]:
    data = entry.data
    fields = {key: (link_id, text) for key, link_id, text in _THOUGHT_RECORD_TEXT}
    items: list[dict[str, Any] | None] = [_string_item(*fields["situation"],
                                                       data.get("situation"))]
    items += _mood_groups("moods", "Moods before", data.get("moods"))
    thoughts = data.get("automatic_thoughts")
    answers = [{"valueString": t} for t in (_text(x) for x in (
        thoughts if isinstance(thoughts, list) else [thoughts])) if t is not None]
    if answers:
        items.append({"linkId": "automatic-thoughts", "text": "Automatic thoughts",
                      "answer": answers})
    for key in ("hot_thought", "evidence_for", "evidence_against", "balanced_thought"):
        items.append(_string_item(*fields[key], data.get(key)))
    belief = _int(data.get("belief"), 0, 100)
    if belief is not None:
        items.append({"linkId": "belief", "text": "Belief in the balanced thought (0-100)",
                      "answer": [{"valueInteger": belief}]})
    items += _mood_groups("moods-after", "Moods re-rated", data.get("moods_after"))
    return [_bundle_entry(_resource_id(pseudonym, entry, "response"), _response(
        f"{THOUGHT_RECORD_QUESTIONNAIRE}|{entry.flow_version}", entry, subject, items))]


def _safety_plan(entry: Entry, subject: dict[str, Any], pseudonym: str
                 ) -> list[dict[str, Any]]:
    items = [_string_item(link_id, text, entry.data.get(key))
             for key, link_id, text in _SAFETY_PLAN_TEXT]
    return [_bundle_entry(_resource_id(pseudonym, entry, "response"), _response(
        f"{SAFETY_PLAN_QUESTIONNAIRE}|{entry.flow_version}", entry, subject, items))]


def _response(questionnaire: str, entry: Entry, subject: dict[str, Any],
              items: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse", "questionnaire": questionnaire,
        "status": "completed", "subject": subject, "authored": _instant(_completed(entry)),
    }
    answered = [item for item in items if item is not None]
    if answered:
        response["item"] = answered
    return response


def _measure(code: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": MEASURES, "code": code}], "text": text}


def _concept(system: str, value: str) -> dict[str, Any]:
    """A coded value when it is a valid FHIR code (an id from a flow), else text only."""
    if _FHIR_CODE.fullmatch(value):
        return {"coding": [{"system": system, "code": value}]}
    return {"text": value}


def _mood_checkin(entry: Entry, subject: dict[str, Any], pseudonym: str
                  ) -> list[dict[str, Any]]:
    data = entry.data
    mood = _int(data.get("mood"), 0, 10)
    if mood is None:
        return []
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": _survey("Survey"),
        "code": _measure("mood-0-10", "Mood (0 = very low, 10 = very good)"),
        "subject": subject,
        "effectiveDateTime": _instant(_completed(entry)),
        "valueInteger": mood,
    }
    components = [
        {"code": _measure("emotion", "Emotion"),
         "valueCodeableConcept": _concept(EMOTIONS, emotion)}
        for emotion in (_text(e) for e in data.get("emotions") or []) if emotion is not None
    ]
    other = _text(data.get("other_emotion"))
    if other is not None:
        components.append({"code": _measure("emotion", "Emotion"),
                           "valueCodeableConcept": {"text": other}})
    if components:
        observation["component"] = components
    note = _text(data.get("note"))
    if note is not None:
        observation["note"] = [{"text": note}]
    return [_bundle_entry(_resource_id(pseudonym, entry, "observation"), observation)]


def _exercise(entry: Entry, subject: dict[str, Any], pseudonym: str) -> list[dict[str, Any]]:
    data = entry.data
    scale = str(data.get("suds_scale") or "suds_0_10").replace("_", "-")
    top = 100 if scale == "suds-0-100" else 10
    run = data.get("run") if isinstance(data.get("run"), Mapping) else {}
    assert isinstance(run, Mapping)
    components: list[dict[str, Any]] = []
    for moment, key in (("before", "suds_before"), ("after", "suds_after")):
        value = _int(data.get(key), 0, top)
        if value is not None:
            components.append({"code": _measure(f"{scale}-{moment}",
                                                f"SUDS {moment} (0-{top})"),
                               "valueInteger": value})
    duration = run.get("duration_s")
    if (isinstance(duration, int | float) and not isinstance(duration, bool)
            and math.isfinite(duration) and duration >= 0):
        components.append({"code": _measure("exercise-duration", "Duration"),
                           "valueQuantity": {"value": duration, "unit": "s", "system": UCUM,
                                             "code": "s"}})
    rounds = _int(run.get("rounds_completed"), 0, 10_000)
    if rounds is not None:
        components.append({"code": _measure("exercise-rounds", "Rounds completed"),
                           "valueInteger": rounds})
    if isinstance(run.get("stopped"), bool):
        components.append({"code": _measure("exercise-stopped", "Stopped early"),
                           "valueBoolean": run["stopped"]})
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": _survey("Survey"),
        "code": _measure("relaxation-exercise", "Relaxation exercise"),
        "subject": subject,
        "effectivePeriod": {"start": _instant(entry.started_at or _completed(entry)),
                            "end": _instant(_completed(entry))},
    }
    exercise = _text(data.get("exercise"))
    if exercise is not None:
        observation["valueCodeableConcept"] = _concept(EXERCISES, exercise)
    if components:
        observation["component"] = components
    return [_bundle_entry(_resource_id(pseudonym, entry, "observation"), observation)]


def _completed(entry: Entry) -> datetime:
    assert entry.completed_at is not None
    return entry.completed_at


_BUILDERS = {
    "phq9": _questionnaire,
    "gad7": _questionnaire,
    "thought_record": _thought_record,
    "safety_plan": _safety_plan,
    "mood_checkin": _mood_checkin,
    "exercise": _exercise,
}
