"""Every error the engine raises to its callers, in one place.

Each carries a Spanish message fit to show a person (the web puts it beside the field or
on the page). They are grouped by the package that raises them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.bpm.parsing import Problem


# -- Configuration ----------------------------------------------------------------------------
class SettingsError(ValueError):
    """An environment variable with a value Atiende cannot use; the message names it."""


# -- The database -----------------------------------------------------------------------------
class SchemaOutdated(RuntimeError):
    """The database's schema is not the one this release expects; the message says to run `atiende migrate`."""


# -- Using the engine --------------------------------------------------------------------------
class NotFound(LookupError):
    pass


class Forbidden(PermissionError):
    pass


class TaskAlreadyDone(RuntimeError):
    """Someone else completed (or the procedure withdrew) the task first."""

    def __init__(self, message: str, by: str | None = None):
        super().__init__(message)
        self.by = by


# -- Forms -------------------------------------------------------------------------------------
class FormErrors(ValueError):
    """Field name → Spanish message, for every field that failed."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


# -- Cases -------------------------------------------------------------------------------------
class AssignmentRefused(ValueError):
    """The change cannot be made as asked; the message says why, in Spanish."""


class FileRefused(ValueError):
    """A file that cannot be accepted, with the reason in Spanish for the person who sent it."""


class LinkError(ValueError):
    """The link cannot be made (same case, unknown case, already linked); Spanish message."""


# -- Diagrams and their execution --------------------------------------------------------------
class DiagramError(ValueError):
    """A diagram set that cannot be deployed, with every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnsafeExpression(ValueError):
    """A script or condition uses something the restricted environment does not allow."""


class OperatorError(ValueError):
    """A service task called an operator wrongly (unknown name, missing parameter, ...)."""


class StoredStateError(RuntimeError):
    """A case's stored workflow state this release cannot read (another format)."""


class UnsupportedLibrary(RuntimeError):
    """The installed SpiffWorkflow is not the release the engine was built and tested with."""


class ProcedureError(RuntimeError):
    """The diagram did something the engine cannot accept (e.g. an unknown status)."""


class StepOverBudget(ProcedureError):
    """A step went over a budget of ``engine.bpm.scripting.budget`` (CPU time, a value's size, automatic steps, a
    helper's argument) and was stopped; the message says which budget, and which step once the engine knows it."""

    def __init__(self, reason: str, element_id: str | None = None, element_name: str | None = None):
        self.reason = reason  # a Spanish verb phrase: «superó su presupuesto de 1 s de CPU»
        self.element_id = element_id
        self.element_name = element_name
        super().__init__(f"el paso «{element_name}» {reason}" if element_name else reason)

    def at(self, element_id: str, element_name: str | None) -> StepOverBudget:
        """The same failure, naming the diagram element whose step it was."""
        return StepOverBudget(self.reason, element_id, element_name or element_id)


class Undeliverable(ValueError):
    """A thrown message names a case that cannot receive it; the message says which, in Spanish."""


class StepFailed(RuntimeError):
    """A step of the procedure failed at run time: it was rolled back and recorded as incident
    ``incident_id`` (``engine.cases.incidents``); the message says which step, why, and the number."""

    def __init__(self, incident_id: int, element_name: str, reason: str):
        self.incident_id = incident_id
        self.element_name = element_name
        self.reason = reason
        super().__init__(
            f'El paso "{element_name}" del procedimiento no pudo completarse: {reason}. '
            f"Se registró la incidencia {incident_id}."
        )


class IncidentRefused(ValueError):
    """An incident cannot be retried or resolved as asked (already resolved, a case never created); Spanish."""


# -- Procedures --------------------------------------------------------------------------------
class DraftErrors(ValueError):
    """What could not be saved, by field (``xml``, ``form:<nombre>``, ``escenarios``), in Spanish."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class ScenarioFailure(AssertionError):
    """A scenario did not go as it says, in Spanish."""


class NotMigratable(RuntimeError):
    """The case cannot move to that version; the message says why, in Spanish."""


# -- Paperwork ---------------------------------------------------------------------------------
class NotRendered(RuntimeError):
    """Documents whose rendering failed (it is logged); the next pass or download tries again."""


# -- Mail --------------------------------------------------------------------------------------
class MailTemplateError(ValueError):
    """A template that is missing, malformed, or lacks the ticket number it must show."""


class MailError(ValueError):
    """A message that cannot be written (e.g. an address with a line break)."""


# -- Access ------------------------------------------------------------------------------------
class RateLimited(Exception):
    """A limit of ``engine.access.ratelimit`` refused the attempt: ``seconds`` until it may be made again
    (what the web answers as ``Retry-After``, so a program waits instead of hammering)."""

    def __init__(self, message: str, seconds: int):
        super().__init__(message)
        self.seconds = max(1, seconds)


class Throttled(RateLimited):
    """Too many failed sign-ins; at most ``minutes`` until attempts are considered again."""

    def __init__(self, seconds: int):
        self.minutes = math.ceil(max(1, seconds) / 60)
        super().__init__(f"demasiados intentos fallidos; espere hasta {self.minutes} minutos", seconds)


# -- Intake ------------------------------------------------------------------------------------
class TooManyGuesses(RateLimited):
    pass


class TooManyReports(RateLimited):
    pass


class SealError(RuntimeError):
    """The audit chain cannot be sealed (no key configured, an unreadable key, nothing to seal); Spanish message."""


class MailboxError(RuntimeError):
    """The mailbox could not be read (connection, login, folder); Spanish message."""


class PhotoError(ValueError):
    """A photo that cannot be accepted; the message is Spanish and names the file."""


class IntakeError(ValueError):
    """The operator's action cannot be done (already handled, missing reason); Spanish message."""


class Open311Error(Exception):
    """An error in the spec's terms: an HTTP status and a description."""

    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after  # seconds, with a 429
