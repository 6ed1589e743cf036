"""Who is who: a person's identifiers, links between two records of one person, and proposals.

- **Identifiers** (`gapwatch.identity` checks them) are saved with a person record. A (scheme,
  value) names one person only. A record that names an identifier another person already holds
  is that person's *twin*: the record is kept as it was written (its own reference, names and
  cases), the identifier stays with the person who held it first, and the two persons are
  linked, with the shared identifier as the reason. Nothing is merged or rewritten.
- **Links** join two person records that are one person: the rules then read their journeys as
  one (`gapwatch.linked`). Linking never changes either record; unlinking ends the link (its row
  and audit entries stay), and a later link adds a new row.
- **Proposals** are pairs `gapwatch link` scored above its threshold (`gapwatch.linkage`). Nobody
  but a person decides one: confirming links the pair, rejecting keeps them apart for good.

An admin, the system (import, demo) or a case manager of an agency holding an ownership of a case
of either person on the day may link, unlink and decide. Auditors read only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import or_, select, tuple_

from gapwatch import authority, clock, identity
from gapwatch.errors import Conflict, InvalidInput, NotFound
from gapwatch.models import (
    Case,
    LinkModel,
    LinkProposal,
    Ownership,
    Person,
    PersonIdentifier,
    PersonLink,
    ProposalStatus,
    active_on,
)
from gapwatch.operations.unit import UnitOfWork

MAX_REASON = 1000


# -- identifiers ------------------------------------------------------------------------------
def preload_identifiers(uow: UnitOfWork, pairs: list[tuple[str, str]]) -> None:
    """Remember who holds each of these (scheme, value) pairs, in a query per 500."""
    wanted = [p for p in dict.fromkeys(pairs) if p not in uow.held]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        uow.held.update(dict.fromkeys(chunk))
        with uow.session.no_autoflush:
            rows = uow.session.execute(
                select(PersonIdentifier.scheme, PersonIdentifier.value, PersonIdentifier.person_id)
                .where(tuple_(PersonIdentifier.scheme, PersonIdentifier.value).in_(chunk))
            ).all()
        uow.held.update({(scheme, value): person for scheme, value, person in rows})


def _holder(uow: UnitOfWork, scheme: str, value: str) -> int | None:
    if (scheme, value) not in uow.held:
        preload_identifiers(uow, [(scheme, value)])
    return uow.held[(scheme, value)]


def _own_identifiers(uow: UnitOfWork, person: Person, is_new: bool) -> dict[str, PersonIdentifier]:
    if is_new:
        return {}
    with uow.session.no_autoflush:
        rows = uow.session.execute(
            select(PersonIdentifier).where(PersonIdentifier.person_id == person.id)
        ).scalars()
        return {row.scheme: row for row in rows}


def save_identifiers(uow: UnitOfWork, *, person: Person, identifiers: dict | None, on: date,
                     is_new: bool = False) -> None:
    """Give `person` these identifiers; link them to whoever already holds one of them.

    Identifiers the record does not name are kept (a record may carry only some of them). A
    new value of a scheme the person holds replaces the old one, audited.
    """
    wanted = identity.normalise_all(identifiers)
    if not wanted:
        return
    for scheme in wanted:
        agency = identity.local_agency(scheme)
        if agency is not None:
            uow.agency(agency, field=f"identifiers.{scheme}")
    held = _own_identifiers(uow, person, is_new)
    for scheme, value in wanted.items():
        holder = _holder(uow, scheme, value)
        if holder == person.id:
            continue
        if holder is not None:
            twin = uow.person_by_id(holder)
            _link_if_apart(uow, person, twin, on,
                           reason=f"both records name {scheme} {value}")
            continue
        before = held.get(scheme)
        if before is not None:
            uow.held[(scheme, before.value)] = None
            uow.audit("person.identifier_changed", person=person.reference, scheme=scheme,
                      before=before.value, after=value)
            before.value = value
        else:
            uow.insert(PersonIdentifier, id=uow.new_id(PersonIdentifier), person_id=person.id,
                       scheme=scheme, value=value)
            uow.audit("person.identifier_added", person=person.reference, scheme=scheme,
                      value=value)
        uow.held[(scheme, value)] = person.id


def change_identifier(uow: UnitOfWork, *, person: str, scheme: str, value: str | None
                      ) -> PersonIdentifier | None:
    """Add, change or (with no value) remove one identifier of person `person`.

    Unlike a record naming an identifier someone else holds (which links the two), an edit by
    hand that names another person's identifier is refused: it names who holds it, so that the
    two records can be linked on purpose instead.
    """
    who = uow.person(person, field="person")
    scheme = (scheme or "").strip()
    require_may_save_person(uow, reference=who.reference, person=who,
                            restricted=who.restricted, home_area_id=who.home_area_id,
                            schemes=[scheme])
    held = _own_identifiers(uow, who, is_new=False)
    before = held.get(scheme)
    if value is None or not str(value).strip():
        if scheme in identity.SCHEMES or identity.local_agency(scheme):
            if before is None:
                raise NotFound(f"person {who.reference} has no {scheme} identifier",
                               field="scheme")
            uow.held[(scheme, before.value)] = None
            uow.audit("person.identifier_removed", person=who.reference, scheme=scheme,
                      value=before.value)
            uow.session.delete(before)
            return None
        identity.normalise(scheme, "?")  # refuses the unknown scheme, naming the known ones
    scheme, value = identity.normalise(scheme, value)
    agency = identity.local_agency(scheme)
    if agency is not None:
        uow.agency(agency, field=f"identifiers.{scheme}")
    holder = _holder(uow, scheme, value)
    if holder == who.id:
        return before
    if holder is not None:
        other = uow.session.get(Person, holder)
        raise Conflict(f"{scheme} {value} is held by person {other.reference}; if they are one "
                       "person, link the two records instead", field=f"identifiers.{scheme}")
    if before is not None:
        uow.held[(scheme, before.value)] = None
        uow.audit("person.identifier_changed", person=who.reference, scheme=scheme,
                  before=before.value, after=value)
        before.value = value
        row = before
    else:
        row = uow.insert(PersonIdentifier, id=uow.new_id(PersonIdentifier), person_id=who.id,
                         scheme=scheme, value=value)
        uow.audit("person.identifier_added", person=who.reference, scheme=scheme, value=value)
    uow.held[(scheme, value)] = who.id
    return row


def identifiers_of(session, person_ids: list[int]) -> dict[int, dict[str, str]]:
    """Return each person's identifiers by scheme, in one query."""
    found: dict[int, dict[str, str]] = {p: {} for p in person_ids}
    if person_ids:
        for person_id, scheme, value in session.execute(
            select(PersonIdentifier.person_id, PersonIdentifier.scheme, PersonIdentifier.value)
            .where(PersonIdentifier.person_id.in_(person_ids))
            .order_by(PersonIdentifier.scheme)
        ):
            found[person_id][scheme] = value
    return found


# -- links ------------------------------------------------------------------------------------
def _pair(first: Person, second: Person) -> tuple[Person, Person]:
    return (first, second) if first.id < second.id else (second, first)


def _active_link(uow: UnitOfWork, a: Person, b: Person) -> PersonLink | None:
    for link in uow.new_rows(PersonLink):  # links this unit made and has not written yet
        if (link.person_a_id, link.person_b_id) == (a.id, b.id) and link.unlinked_on is None:
            return link
    with uow.searched(PersonLink):
        return uow.session.execute(
            select(PersonLink).where(PersonLink.person_a_id == a.id,
                                     PersonLink.person_b_id == b.id,
                                     PersonLink.unlinked_on.is_(None))
        ).scalar_one_or_none()


def holds_a_case(uow: UnitOfWork, persons: list[Person], on: date) -> bool:
    """Whether the actor's agency holds an ownership, active on `on`, of a case of these persons."""
    actor = uow.actor
    if actor.agency is None or actor.read_only or not persons:
        return False
    return uow.session.execute(
        select(Ownership.id)
        .join(Case, Case.id == Ownership.case_id)
        .where(Case.person_id.in_([p.id for p in persons]),
               Ownership.agency_id == uow.agency(actor.agency).id, active_on(on))
        .limit(1)
    ).first() is not None


def require_may_link(uow: UnitOfWork, persons: list[Person], on: date, doing: str) -> None:
    """Refuse unless the authority table lets the actor link these persons (`may_link`)."""
    uow.require(authority.may_link(uow.actor, holds_a_case=holds_a_case(uow, persons, on),
                                   day=on, doing=doing,
                                   persons=" or ".join(p.reference for p in persons)))


def require_may_save_person(uow: UnitOfWork, *, reference: str, person: Person | None,
                            restricted: bool, home_area_id: int | None = None,
                            schemes=()) -> None:
    """Refuse unless the authority table lets the actor save this person record."""
    on = clock.today()
    has_a_case = person is not None and uow.session.execute(
        select(Case.id).where(Case.person_id == person.id).limit(1)).first() is not None
    decision, where = authority.may_save_person(
        uow.actor, person=reference, exists=person is not None, has_a_case=has_a_case,
        holds_a_case=has_a_case and holds_a_case(uow, [person], on),
        lifts_restriction=person is not None and person.restricted and not restricted,
        moves_home=person is not None and person.home_area_id != home_area_id,
        schemes=schemes)
    uow.require(decision, field=where)


def touch_persons(uow: UnitOfWork, person_ids: set[int], on: date, cause: str | None) -> None:
    """Note that the journeys of these persons' linked groups changed on `on`.

    A link, an unlink or a decided proposal changes the journey the rules see for every case of
    both persons' groups (`gapwatch.linked`: the lead case holds the group's journey, the others
    are read into it), so all of them are re-checked before the unit commits
    (`gapwatch.follow`). `cause` is the audited action, which the flags' audit entries name
    (None: the unit's own actions already say it, as when a record's case closes).

    The groups are read once, when the unit is done (`settle_persons`): a link, a decided
    proposal, a linking run or a person's new details only join groups or leave them as they
    were, so the groups then hold every case whose journey moved. An import of twins found
    each person's group as it came, and each of those reads wrote the unit's waiting rows
    first: a fifth of loading the demo. An unlink splits a group, so its groups are read now,
    before the change.
    """
    if cause is not None:
        uow.actions.add(cause)
    pending = uow.persons_touched
    for person_id in person_ids:
        pending[person_id] = max(pending.get(person_id, on), on)
    if cause == "person.unlinked":
        settle_persons(uow)


def settle_persons(uow: UnitOfWork) -> None:
    """Note the cases of the linked groups of the persons `touch_persons` was told of as
    changed, on the latest day it was told (the re-check reads every case as of one day)."""
    pending, uow.persons_touched = uow.persons_touched, {}
    if not pending:
        return
    on = max(pending.values())
    uow.session.flush()
    members = sorted(_linked_with(uow.session, set(pending)))
    for start in range(0, len(members), 500):
        chunk = members[start:start + 500]
        for case_id, reference in uow.session.execute(
                select(Case.id, Case.reference).where(Case.person_id.in_(chunk))):
            _reference, latest = uow.touched.get(case_id, (reference, on))
            uow.touched[case_id] = (reference, max(latest, on))


def proposed_with(session, person_ids: set[int]) -> set[int]:
    """Return the persons an open proposal pairs with any of these (these not included)."""
    found: set[int] = set()
    ids = sorted(person_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for a, b in session.execute(
                select(LinkProposal.person_a_id, LinkProposal.person_b_id).where(
                    LinkProposal.status == ProposalStatus.open.value,
                    or_(LinkProposal.person_a_id.in_(chunk),
                        LinkProposal.person_b_id.in_(chunk)))):
            found.update((a, b))
    return found - person_ids


def _links_reached(session, person_ids: set[int]) -> set[tuple[int, int]]:
    """Return the current links of these persons and of everyone linked with them, following
    only their own links (an import linking many twins reads each group, not every link, per
    link)."""
    seen, frontier, links = set(person_ids), sorted(person_ids), set()
    while frontier:
        found = set()
        for start in range(0, len(frontier), 500):
            chunk = frontier[start:start + 500]
            for a, b in session.execute(
                    select(PersonLink.person_a_id, PersonLink.person_b_id).where(
                        PersonLink.unlinked_on.is_(None),
                        or_(PersonLink.person_a_id.in_(chunk),
                            PersonLink.person_b_id.in_(chunk)))):
                links.add((a, b))
                found.update((a, b))
        frontier = sorted(found - seen)
        seen.update(found)
    return links


def _linked_with(session, person_ids: set[int]) -> set[int]:
    """Return these persons and everyone linked with them (`_links_reached`)."""
    return set(person_ids).union(*_links_reached(session, person_ids))


def _reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(f"{what} needs a reason", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason is longer than {MAX_REASON} characters", field="reason")
    return reason


def _link_if_apart(uow: UnitOfWork, first: Person, second: Person, on: date, *, reason: str,
                   proposal: LinkProposal | None = None) -> PersonLink | None:
    a, b = _pair(first, second)
    if _active_link(uow, a, b) is not None:
        return None
    touch_persons(uow, {a.id, b.id}, on, "person.linked")
    link = uow.insert(PersonLink, id=uow.new_id(PersonLink), person_a_id=a.id,
                      person_b_id=b.id, linked_on=on, linked_by=uow.actor.name, reason=reason,
                      proposal_id=proposal.id if proposal else None)
    uow.audit("person.linked", link=link.id, persons=[a.reference, b.reference], on=on,
              reason=reason, proposal=proposal.id if proposal else None)
    if proposal is None:
        open_one = uow.session.execute(select(LinkProposal).where(
            LinkProposal.person_a_id == a.id, LinkProposal.person_b_id == b.id,
            LinkProposal.status == ProposalStatus.open.value)).scalar_one_or_none()
        if open_one is not None:  # linked directly: the question it asked is answered
            open_one.status, open_one.decided_on = ProposalStatus.confirmed.value, on
            open_one.decided_by, open_one.note = uow.actor.name, f"linked: {reason}"
    return link


def link_persons(uow: UnitOfWork, *, first: str, second: str, on: date, reason: str,
                 proposal: LinkProposal | None = None) -> PersonLink:
    """Record that person records `first` and `second` are one person."""
    one, other = uow.person(first, field="first"), uow.person(second, field="second")
    if one.id == other.id:
        raise InvalidInput(f"cannot link person {first} to itself", field="second")
    require_may_link(uow, [one, other], on, f"link {first} and {second}")
    link = _link_if_apart(uow, one, other, on, reason=_reason(reason, "a link"),
                          proposal=proposal)
    if link is None:
        raise Conflict(f"persons {first} and {second} are already linked", field="second")
    return link


def unlink_persons(uow: UnitOfWork, *, first: str, second: str, on: date,
                   reason: str) -> PersonLink:
    """End the link between `first` and `second`; both records stay as they are."""
    one, other = uow.person(first, field="first"), uow.person(second, field="second")
    require_may_link(uow, [one, other], on, f"unlink {first} and {second}")
    a, b = _pair(one, other)
    link = _active_link(uow, a, b)
    if link is None:
        raise NotFound(f"persons {first} and {second} are not linked", field="second")
    touch_persons(uow, {a.id, b.id}, on, "person.unlinked")
    link.unlinked_on, link.unlinked_by = on, uow.actor.name
    link.unlink_reason = _reason(reason, "an unlink")
    uow.audit("person.unlinked", link=link.id, persons=[a.reference, b.reference], on=on,
              reason=link.unlink_reason)
    return link


def links_of(session, person_ids: list[int]) -> list[PersonLink]:
    """Return the active links that touch any of these persons."""
    if not person_ids:
        return []
    return list(session.execute(
        select(PersonLink).where(
            PersonLink.unlinked_on.is_(None),
            or_(PersonLink.person_a_id.in_(person_ids), PersonLink.person_b_id.in_(person_ids)),
        ).order_by(PersonLink.id)
    ).scalars())


# -- proposals --------------------------------------------------------------------------------
def _proposal(uow: UnitOfWork, proposal_id: int) -> tuple[LinkProposal, Person, Person]:
    proposal = uow.session.get(LinkProposal, proposal_id)
    if proposal is None:
        raise NotFound(f"there is no link proposal {proposal_id}", field="proposal")
    return (proposal, uow.session.get(Person, proposal.person_a_id),
            uow.session.get(Person, proposal.person_b_id))


def decide_proposal(uow: UnitOfWork, *, proposal_id: int, confirm: bool, on: date,
                    note: str | None = None) -> LinkProposal:
    """Confirm a proposal (linking its two persons) or reject it (they stay apart for good)."""
    proposal, a, b = _proposal(uow, proposal_id)
    verb = "confirm" if confirm else "reject"
    require_may_link(uow, [a, b], on, f"{verb} the proposal that {a.reference} is "
                     f"{b.reference}")
    if proposal.status != ProposalStatus.open:
        raise Conflict(f"the proposal that {a.reference} is {b.reference} is already "
                       f"{proposal.status}", field="proposal")
    note = (note or "").strip() or None
    if note and len(note) > MAX_REASON:
        raise InvalidInput(f"the note is longer than {MAX_REASON} characters", field="note")
    touch_persons(uow, {a.id, b.id}, on,
                  "link_proposal.confirmed" if confirm else "link_proposal.rejected")
    proposal.status = (ProposalStatus.confirmed if confirm else ProposalStatus.rejected).value
    proposal.decided_on, proposal.decided_by, proposal.note = on, uow.actor.name, note
    uow.audit(f"link_proposal.{proposal.status}", proposal=proposal.id,
              persons=[a.reference, b.reference], probability=proposal.probability, on=on,
              note=note)
    if confirm:
        _link_if_apart(uow, a, b, on, proposal=proposal, reason=note or (
            f"confirmed proposal {proposal.id} (probability {proposal.probability:.3f})"))
    return proposal


def group_of(session, person_id: int) -> frozenset[int]:
    """Return the person and everyone linked with them (only them when unlinked), reading their
    own links, not every link as `groups` does (45 ms a case page at 3,400 links)."""
    return frozenset(_linked_with(session, {person_id}))


def groups(session) -> dict[int, frozenset[int]]:
    """Return, for every linked person, the ids of all the persons linked with them (and them)."""
    return _components(session.execute(
        select(PersonLink.person_a_id, PersonLink.person_b_id)
        .where(PersonLink.unlinked_on.is_(None))
    ).all())


def groups_of(session, person_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """Return `groups` for these persons and everyone linked with them (an unlinked person is
    a group of one), reading only their links: a chunk of a daily scan's cases reads the
    groups it holds, not every link of the region."""
    wanted = set(person_ids)
    return _components(_links_reached(session, wanted), wanted)


def _components(links, persons: Iterable[int] = ()) -> dict[int, frozenset[int]]:
    import networkx as nx

    graph = nx.Graph(links)
    graph.add_nodes_from(persons)
    found = {}
    for group in nx.connected_components(graph):
        frozen = frozenset(group)
        found.update(dict.fromkeys(frozen, frozen))
    return found


def record_linkage(uow: UnitOfWork, *, model: dict, pairs: list, persons: int, threshold: float,
                   splink_version: str, on: date, trained_on: int | None = None) -> dict:
    """Keep a trained model as the next version and reconcile the proposals with its pairs.

    A pair already linked (directly or through others) or already decided is left alone; an
    open proposal is rescored by this model; a new pair is proposed; an open proposal this
    model no longer scores above the threshold lapses.
    """
    uow.require_agency(None, "link person records")
    top = uow.session.execute(select(LinkModel.version).order_by(LinkModel.version.desc())
                              .limit(1)).scalar()
    saved = LinkModel(id=uow.new_id(LinkModel), version=(top or 0) + 1, trained_at=clock.now(),
                      persons=persons, trained_on=trained_on or persons, threshold=threshold,
                      splink_version=splink_version,
                      model=model)
    uow.session.add(saved)
    linked = groups(uow.session)
    known = {(p.person_a_id, p.person_b_id): p for p in uow.session.execute(
        select(LinkProposal)).scalars()}
    counts = {"proposed": 0, "rescored": 0, "lapsed": 0, "already_linked": 0, "decided": 0}
    seen = set()
    changed: set[int] = set()  # persons with a proposal opened, rescored or lapsed: their flags change
    for pair in pairs:
        a, b = sorted((pair.left, pair.right))
        seen.add((a, b))
        if b in linked.get(a, ()):
            counts["already_linked"] += 1
            continue  # an open proposal of a linked pair is closed below, as lapsed
        values = {"probability": pair.probability, "match_weight": pair.match_weight,
                  "reasons": [r.as_json() for r in pair.reasons], "model_id": saved.id}
        proposal = known.get((a, b))
        if proposal is None:
            uow.insert(LinkProposal, id=uow.new_id(LinkProposal), person_a_id=a, person_b_id=b,
                       status=ProposalStatus.open.value, proposed_on=on, **values)
            counts["proposed"] += 1
            changed.update((a, b))
        elif proposal.status == ProposalStatus.open:
            if proposal.probability != pair.probability:
                changed.update((a, b))  # its flags' message and evidence give the probability
            for key, value in values.items():
                setattr(proposal, key, value)
            counts["rescored"] += 1
        else:
            counts["decided"] += 1
    for key, proposal in known.items():
        a, b = key
        if proposal.status != ProposalStatus.open:
            continue
        if b in linked.get(a, ()):
            note = "the persons are linked"
        elif key not in seen:
            note = f"model {saved.version} no longer scores the pair above {threshold}"
        else:
            continue
        proposal.status, proposal.decided_on = ProposalStatus.lapsed.value, on
        proposal.decided_by, proposal.note = uow.actor.name, note
        counts["lapsed"] += 1
        changed.update(key)
    if changed:
        touch_persons(uow, changed, on, "link.run")
    uow.audit("link.run", model_version=saved.version, persons=persons,
              trained_on=saved.trained_on, threshold=threshold, on=on, **counts)
    return {"model_version": saved.version, **counts}
