"""POST /persons: person records with their identifiers, through the import's operations, as
the authority table's `save-person` row allows; a record naming a held identifier is linked."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gapwatch import operations as ops
from gapwatch.models import AuditEvent, PersonIdentifier, PersonLink
from tests.support import D, act

NEW = {"reference": "P-42", "given_name": "Sam", "family_name": "Example",
       "date_of_birth": "1990-05-05", "home_area": "WMIDS"}


def post(api, agency, payload):
    return api[agency].client.post("/api/v1/persons", json=payload,
                                   headers=api[agency].headers())


def refusal(response):
    assert response.mimetype == "application/problem+json"
    [error] = response.json["errors"]
    return response.status_code, error["field"], error.get("rule")


def test_an_agency_registers_a_person_with_identifiers_in_their_kept_form(api, world):
    saved = post(api, "HMP-HEWELL", {**NEW, "identifiers": {
        "noms": "a1234bc", "pnc": "01/123456F", "local:HMP-HEWELL": "hw-0042"}})
    assert saved.status_code == 200, saved.json
    assert saved.json == {"saved": 1, "persons": [{
        "index": 0, "reference": "P-42", "created": True, "linked_to": [],
        "identifiers": {"local:HMP-HEWELL": "HW-0042", "noms": "A1234BC",
                        "pnc": "2001/0123456F"}, "identifiers_withheld": False}]}
    actor = world.execute(select(AuditEvent.actor).where(
        AuditEvent.action == "person.created")).scalars().all()[-1]
    assert actor == "token:HMP-HEWELL/hmp-hewell-system"


def test_a_record_naming_a_held_identifier_is_linked_not_duplicated(api, world):
    post(api, "HMP-HEWELL", {**NEW, "identifiers": {"noms": "A1234BC"}})
    twin = post(api, "WMIDS", {**NEW, "reference": "P-43", "given_name": "Samuel",
                               "identifiers": {"noms": "A1234BC", "crn": "X123456"}})
    assert twin.status_code == 200, twin.json
    [saved] = twin.json["persons"]
    assert saved["linked_to"] == ["P-42"] and saved["identifiers"] == {"crn": "X123456"}
    assert world.execute(select(func.count()).select_from(PersonIdentifier).where(
        PersonIdentifier.value == "A1234BC")).scalar() == 1
    link = world.execute(select(PersonLink)).scalar_one()
    assert link.reason == "both records name noms A1234BC"
    assert link.linked_by == "token:WMIDS/wmids-system"
    # Saving it again links nothing twice (P-43 has no case yet: its agency may resave it).
    again = post(api, "WMIDS", {**NEW, "reference": "P-43", "given_name": "Samuel",
                                "identifiers": {"noms": "A1234BC"}})
    assert again.status_code == 200 and again.json["persons"][0]["created"] is False
    assert world.execute(select(func.count()).select_from(PersonLink)).scalar() == 1


def test_only_an_agency_holding_a_case_of_the_person_changes_their_record(api, world):
    # P-C-1's case C-1 is in HMP Hewell's custody; Staffordshire holds nothing of it.
    changed = {**NEW, "reference": "P-C-1", "identifiers": {"crn": "X654321"}}
    refused = post(api, "STAFFS", changed)
    assert refusal(refused) == (403, "reference", "save-person")
    assert "STAFFS holds none" in refused.json["detail"]
    assert post(api, "HMP-HEWELL", changed).status_code == 200


def test_an_agency_sets_only_its_own_local_reference(api):
    refused = post(api, "HMP-HEWELL", {**NEW, "identifiers": {"local:WMIDS": "WM-1"}})
    assert refusal(refused) == (403, "identifiers.local:WMIDS", "save-person")


def test_only_an_administrator_lifts_a_restriction(api, world):
    act(world, ops.save_person, reference="P-C-1", given_name="Sam", family_name="Example",
        date_of_birth=D(NEW["date_of_birth"]), home_area="WMIDS", restricted=True)
    refused = post(api, "HMP-HEWELL", {**NEW, "reference": "P-C-1", "restricted": False})
    assert refusal(refused) == (403, "restricted", "save-person")
    # Changed by an agency holding the case, a restricted person's identifiers are not echoed.
    saved = post(api, "HMP-HEWELL", {**NEW, "reference": "P-C-1", "restricted": True,
                                     "identifiers": {"crn": "X654321"}})
    assert saved.status_code == 200, saved.json
    [answer] = saved.json["persons"]
    assert answer["identifiers"] == {} and answer["identifiers_withheld"] is True
    assert "X654321" not in saved.text


@pytest.mark.parametrize(("identifiers", "field", "says"), [
    ({"pnc": "2001/0123456A"}, "identifiers.pnc", "needs F"),
    ({"noms": "A12BC"}, "identifiers.noms", "A1234BC"),
    ({"nhs": "123"}, "identifiers", "noms, crn, pnc or local:AGENCY"),
])
def test_a_bad_identifier_is_refused_naming_its_field(api, identifiers, field, says):
    refused = post(api, "HMP-HEWELL", {**NEW, "identifiers": identifiers})
    assert refusal(refused)[:2] == (400, field) and says in refused.json["detail"]


def test_a_batch_is_all_or_nothing_and_names_the_refused_index(api, world):
    refused = post(api, "HMP-HEWELL", [NEW, {**NEW, "reference": "P-43",
                                             "identifiers": {"crn": "123"}}])
    assert refused.status_code == 400 and refused.json["errors"][0]["index"] == 1
    assert world.execute(select(func.count()).select_from(PersonIdentifier)).scalar() == 0
    assert post(api, "HMP-HEWELL", {**NEW, "type": "case"}).json["errors"][0]["field"] == "type"


def test_a_read_token_cannot_post_persons(api, world, client):
    _token, secret = act(world, ops.create_token, agency="HMP-HEWELL", name="reader",
                         scope="read")
    refused = client.post("/api/v1/persons", json=NEW,
                          headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 403 and "scope 'read-write'" in refused.json["detail"]


def test_the_openapi_document_describes_posting_persons(client):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/persons"]["post"]
    assert operation["security"] == [{"bearer": ["read-write"]}]
    record = document["components"]["schemas"]["PersonRecord"]
    assert "identifiers" in record["properties"] and "type" not in record["required"]


def test_only_an_administrator_moves_a_persons_home_area(api):
    # The home area sees the person's cases and may take them in a gap: not an agency's to give.
    refused = post(api, "HMP-HEWELL", {**NEW, "reference": "P-C-1", "home_area": "STAFFS"})
    assert refusal(refused) == (403, "home_area", "save-person")
    assert "decides which agencies see their cases" in refused.json["detail"]
