"""Messages between cases: what one case's diagram throws, delivered to the cases it names.

SpiffWorkflow hands the application the events a workflow throws and nothing in it catches
(docs/architecture.md); routing them is the product's job. A message names its addressees by
ticket: its payload is a record with a ``ticket``, or a list of them (the acta of a meeting
lists one acuerdo per sugerencia). Each addressee receives its own record, without the
ticket and with ``enviado_por`` (the sender's ticket), at the catch event that waits for
that message, in the same transaction as the step that threw it. A ticket that does not
exist or does not wait for the message refuses the whole step, so no acuerdo is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition

from engine.errors import Undeliverable


@dataclass(frozen=True)
class Letter:
    """One message for one case."""

    ticket: str
    definition: MessageEventDefinition
    record: dict


def thrown(workflow) -> list:
    """The messages the workflow threw that nothing inside it caught (taken out of the workflow)."""
    events = workflow.get_events()
    return [e for e in events if isinstance(e.event_definition, MessageEventDefinition)]


def letters(events: list, sender_ticket: str) -> list[Letter]:
    """One letter per addressee of each thrown message, in ticket order (the order cases are locked in)."""
    found = []
    for event in events:
        payload = event.payload
        records = payload if isinstance(payload, list) else [payload]
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("ticket"), str):
                raise Undeliverable(
                    f"el mensaje «{event.event_definition.name}» no indica el ticket del caso al que va"
                )
            body = {k: v for k, v in record.items() if k != "ticket"}
            found.append(Letter(record["ticket"], event.event_definition, {**body, "enviado_por": sender_ticket}))
    return sorted(found, key=lambda letter: letter.ticket)
