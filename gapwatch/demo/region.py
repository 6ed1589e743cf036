"""The West Midlands demo region: its agencies, their contracts and a demo login for each.

The region follows the seed's story: West Mercia buys the Intensive Control and Change
Programme (ICCP) from Youth Support Services (YSS); Connect mentoring for short-term prisoners
is bought from voluntary organisations, one of whose contracts has lapsed; prisoners in West
Mercia's prisons often go home to the West Midlands conurbation.
"""

from __future__ import annotations

from datetime import date, timedelta

REGION = "West Midlands"
PASSWORD = "gapwatch-demo"
REGION_LEAD = "region-lead@hmpps-westmidlands.example"

# code, name, kind, duty inbox, escalation address, demo case manager
AGENCIES = [
    ("HMP-HEWELL", "HMP Hewell", "prison", "omu@hewell.example"),
    ("HMP-LONG-LARTIN", "HMP Long Lartin", "prison", "omu@longlartin.example"),
    ("HMP-BIRMINGHAM", "HMP Birmingham", "prison", "omu@birmingham.example"),
    ("WMERCIA", "West Mercia Probation", "probation", "spo@westmercia.example"),
    ("WMIDS", "West Midlands Probation", "probation", "spo@westmidlands.example"),
    ("STAFFS", "Staffordshire Probation", "probation", "spo@staffordshire.example"),
    ("WARKS", "Warwickshire Probation", "probation", "spo@warwickshire.example"),
    ("YOS-WORCS", "Worcestershire Youth Offending Service", "youth", "yos@worcestershire.example"),
    ("YSS", "Youth Support Services (YSS)", "provider", "iccp@yss.example"),
    ("CONNECT-NACRO", "Nacro Connect mentoring", "provider", "connect@nacro.example"),
    ("CONNECT-SOVA", "SOVA Connect mentoring", "provider", "connect@sova.example"),
]

# provider, commissioner, service, starts (days from today), ends (None = open-ended)
CONTRACTS = [
    ("YSS", "WMERCIA", "ICCP", -730, None),
    ("CONNECT-NACRO", "WMIDS", "Connect mentoring", -700, None),
    ("CONNECT-NACRO", "WMERCIA", "Connect mentoring", -700, None),
    ("CONNECT-NACRO", "HMP-HEWELL", "Connect mentoring", -700, None),
    # Lapsed twenty days ago while SOVA still mentors a West Mercia case (WM-1007).
    ("CONNECT-SOVA", "WMERCIA", "Connect mentoring", -700, -20),
    # Ends in twenty days while Nacro still mentors Staffordshire cases (WM-1038).
    ("CONNECT-NACRO", "STAFFS", "Connect mentoring", -365, 20),
]

AUDITOR = "inspector@hmip.example"
ADMIN = "admin@gapwatch.example"


def _escalation(code: str, kind: str) -> list[str]:
    """Providers escalate to their commissioner's contract manager, the rest to the region."""
    if kind == "provider":
        return ["contracts@westmercia.example"]
    if kind == "youth":
        return ["yjs-lead@worcestershire.example"]
    return [REGION_LEAD]


def agency_records() -> list[dict]:
    """Return the region's agencies as import records."""
    return [
        {"type": "agency", "code": code, "name": name, "kind": kind, "region": REGION,
         "alert_emails": [f"duty@{code.lower()}.example"],
         "escalation_emails": _escalation(code, kind)}
        for code, name, kind, _login in AGENCIES
    ]


def contract_records(today: date) -> list[dict]:
    """Return the region's contracts as import records, dated around `today`."""
    def day(offset: int | None) -> str | None:
        return None if offset is None else (today + timedelta(days=offset)).isoformat()

    return [
        {"type": "contract", "provider": provider, "commissioner": buyer, "service": service,
         "starts_on": day(starts), "ends_on": day(ends)}
        for provider, buyer, service, starts, ends in CONTRACTS
    ]


def logins() -> list[tuple[str, str, str | None]]:
    """Return (email, role, agency) for every demo user."""
    users = [(login, "case_manager", code) for code, _n, _k, login in AGENCIES]
    return [*users, (AUDITOR, "auditor", None), (ADMIN, "admin", None)]
