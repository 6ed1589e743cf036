"""The one write path: every change to gapwatch's records goes through these operations."""

from gapwatch.operations.flags import acknowledge_flag, acknowledgement_mark
from gapwatch.operations.identity import (
    change_identifier,
    decide_proposal,
    link_persons,
    preload_identifiers,
    record_linkage,
    save_identifiers,
    unlink_persons,
)
from gapwatch.operations.journeys import (
    accept_handoff,
    assign_officer,
    close_case,
    end_ownership,
    reject_handoff,
    request_handoff,
    start_ownership,
    take_supervision,
    withdraw_handoff,
)
from gapwatch.operations.records import (
    open_case,
    save_agency,
    save_contract,
    save_person,
    set_case_details,
)
from gapwatch.operations.tokens import create_token, note_token_use, revoke_token
from gapwatch.operations.unit import Actor, CaseState, UnitOfWork, record_read, unit_of_work
from gapwatch.operations.users import (
    add_user,
    attempt_login,
    end_sessions,
    set_active,
    set_password,
)

__all__ = [
    "record_linkage",
    "unlink_persons",
    "save_identifiers",
    "preload_identifiers",
    "link_persons",
    "decide_proposal",
    "change_identifier",
    "Actor",
    "CaseState",
    "UnitOfWork",
    "accept_handoff",
    "acknowledge_flag",
    "acknowledgement_mark",
    "add_user",
    "assign_officer",
    "attempt_login",
    "end_sessions",
    "close_case",
    "create_token",
    "end_ownership",
    "note_token_use",
    "open_case",
    "reject_handoff",
    "request_handoff",
    "revoke_token",
    "save_agency",
    "save_contract",
    "save_person",
    "set_active",
    "set_case_details",
    "set_password",
    "start_ownership",
    "take_supervision",
    "record_read",
    "unit_of_work",
    "withdraw_handoff",
]
