"""The ``atiende`` command: migrate, deploy diagrams, run the timer and mail workers, compact the stored states,
load demo data."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from engine.audit import chain as audit_chain
from engine.audit import reconcile
from engine.audit import seals as audit_seals
from engine.bpm.state import compaction
from engine.bpm.state.serializer import InstanceSerializer
from engine.db.store import Store
from engine.demo import desk as demo_desk
from engine.demo import procedures as demo_procedures
from engine.demo import seed as demo
from engine.errors import DiagramError, SchemaOutdated, SealError, SettingsError
from engine.facade import FORMS_DIR, PROCESSES_DIR, Atiende
from engine.indicators import cli as indicators_cli
from engine.intake import cli as intake_cli
from engine.mail import smtp
from engine.procedures import publishing
from engine.settings import Settings

log = logging.getLogger("atiende.timers")


def timer_worker(atiende: Atiende, interval: float, stop: threading.Event) -> None:
    """Run the timer sweep every ``interval`` seconds until ``stop`` is set."""
    while not stop.is_set():
        try:
            result = atiende.run_timer_sweep()
            if result.loaded:
                log.info("sweep: %s cases loaded, %s fired, %s failed", result.loaded, result.fired, result.failed)
        except Exception:  # noqa: BLE001 - the worker must outlive a bad sweep
            log.exception("timer sweep failed")
        _seal_if_due(atiende)
        stop.wait(interval)


def _seal_if_due(atiende: Atiende) -> None:
    """Seal the audit chain's head once a day when a key is configured (engine.audit.seals)."""
    try:
        sealed = audit_seals.seal_if_due(atiende)
    except SealError as refused:
        log.error("audit chain not sealed: %s", refused)
    except Exception:  # noqa: BLE001 - the worker must outlive a seal that failed
        log.exception("audit seal failed")
    else:
        if sealed is not None:
            log.info("audit chain sealed: %s", sealed.line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="atiende", description="Atiende: administración del motor")
    parser.add_argument("--database-url", help="por defecto DATABASE_URL o instance/atiende.sqlite3")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="crear o actualizar el esquema de la base de datos")
    val = sub.add_parser(
        "validate", help="validar diagramas, formularios y escenarios sin desplegar (sin base de datos)"
    )
    dep = sub.add_parser("deploy", help="validar (con escenarios) y desplegar processes/ y forms/")
    for command in (val, dep):
        command.add_argument("--processes", type=Path, default=PROCESSES_DIR, help="carpeta de diagramas y escenarios")
        command.add_argument("--forms", type=Path, default=FORMS_DIR, help="carpeta de formularios")
    dep.add_argument("--by", default="cli")
    dep.add_argument("--note", default="")
    aud = sub.add_parser("audit", help="auditoría").add_subparsers(dest="audit_command", required=True)
    ver = aud.add_parser("verify", help="verificar la cadena de huellas, sus sellos y los casos contra sus eventos")
    ver.add_argument("--sellos", type=Path, help="archivo con líneas de sellos guardadas fuera (los correos)")
    aud.add_parser("sellar", help="sellar ahora la cabeza de la cadena (firma con ATIENDE_AUDIT_KEY) y enviarla")
    key = aud.add_parser("clave", help="crear la clave Ed25519 de los sellos (sin base de datos)")
    key.add_argument("--archivo", type=Path, help="por defecto ATIENDE_AUDIT_KEY")
    tim = sub.add_parser("timers", help="ejecutar el barrido de temporizadores en bucle")
    tim.add_argument("--interval", type=float, default=30.0)
    tim.add_argument("--once", action="store_true")
    mai = sub.add_parser("mail", help="enviar en bucle la bandeja de salida de correo (SMTP de ATIENDE_SMTP_*)")
    mai.add_argument("--interval", type=float, default=30.0)
    mai.add_argument("--once", action="store_true")
    est = sub.add_parser("estados", help="estados guardados de los casos").add_subparsers(
        dest="states_command", required=True
    )
    com = est.add_parser(
        "compactar",
        help="entrenar un diccionario con la forma de los estados (si no hay ninguno) y reescribirlos con él",
    )
    com.add_argument("--nuevo", action="store_true", help="entrenar otro aunque haya uno (cambió un procedimiento)")
    sub.add_parser("demo", help="cargar datos de demostración")
    intake_cli.add_commands(sub)
    indicators_cli.add_commands(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # one line per task state change otherwise
    if args.command == "validate":
        return _validate(args.processes, args.forms)

    try:
        settings = Settings.from_environ()
    except SettingsError as wrong:
        print(wrong, file=sys.stderr)
        return 2
    if args.command == "audit" and args.audit_command == "clave":
        return _new_key(args.archivo or settings.audit_key)
    store = Store(args.database_url or settings.database_url)
    try:
        if args.command == "migrate":
            store.migrate()
            return 0
        # Only `migrate` changes the schema: a worker starting beside others, or `audit verify` on the
        # database it examines, must leave it as it is.
        store.check_schema()
        return _run(args, Atiende(store, settings=settings))
    except SchemaOutdated as outdated:
        print(outdated, file=sys.stderr)
        return 2
    finally:
        store.dispose()  # tests call main() many times: no connection outlives it


def _run(args, atiende: Atiende) -> int:
    """Run a command that needs the database."""
    if args.command == "deploy":
        try:
            versions = publishing.publish(
                atiende, publishing.read_directory(args.processes, args.forms), args.by, args.note
            )
        except DiagramError as exc:
            return _refuse("No se puede desplegar:", exc)
        for v in versions:
            print(f"{v.process_id}: versión {v.version} ({v.content_hash[:12]})")
    elif args.command == "timers":
        if args.once:
            print(atiende.run_timer_sweep())
            return 0
        stop = threading.Event()
        try:
            timer_worker(atiende, args.interval, stop)
        except KeyboardInterrupt:
            stop.set()
    elif args.command == "mail":
        return _send_mail(atiende, args)
    elif args.command in intake_cli.COMMANDS:
        return intake_cli.run(args, atiende)
    elif args.command in indicators_cli.COMMANDS:
        return indicators_cli.run(args, atiende)
    elif args.command == "demo":
        if demo.seed(atiende):
            demo_procedures.seed(atiende)
            print(f"datos de demostración cargados: {demo_desk.summary(demo_desk.seed(atiende))}")
        else:
            print("la base ya tenía datos")
    elif args.command == "audit":
        return _audit(args, atiende)
    elif args.command == "estados":
        return _compact(atiende, args.nuevo)
    return 0


def _compact(atiende: Atiende, new: bool) -> int:
    """Train a dictionary of the stored states' shape if there is none (or ``new``), then rewrite the states with it."""
    codec = atiende.serializer.codec
    if new or not codec.newest:
        trained = compaction.train(atiende.store, codec, atiende.now(), compaction.MINIMUM)
        if trained is None:
            print(f"Hay menos de {compaction.MINIMUM} estados guardados: aún no hay de qué aprender un diccionario.")
            return 0
        print(f"Diccionario {trained} entrenado con la forma de los estados más recientes.")
    done = compaction.rewrite(atiende.store, codec)
    print(
        f"{done.rewritten} de {done.read} estados reescritos con el diccionario {codec.newest}: "
        f"{done.bytes_before / 1e6:.1f} MB → {done.bytes_after / 1e6:.1f} MB."
    )
    return 0


def _audit(args, atiende: Atiende) -> int:
    """``sellar``: seal the chain's head now. ``verify``: the chain, its seals, and each case against its events."""
    try:
        if args.audit_command == "sellar":
            made = audit_seals.seal(atiende)
            print(f"Sello n.º {made.number} guardado y enviado a los auditores:\n{made.line}")
            return 0
        key = audit_seals.public_key(atiende.settings)
        outside = audit_seals.parse(args.sellos.read_text(encoding="utf-8")) if args.sellos else []
    except SealError as refused:
        print(refused, file=sys.stderr)
        return 1
    except OSError as unreadable:
        print(f"No se puede leer {args.sellos}: {unreadable.strerror}", file=sys.stderr)
        return 1
    if args.sellos and not outside:
        print(f"{args.sellos} no contiene ninguna línea de sello (SELLO-ATIENDE …).", file=sys.stderr)
        return 1
    with atiende.store.snapshot() as s:  # the chain, the seals and the cases at one moment
        verdict = audit_chain.verify(s)
        report = audit_seals.check(s, key, outside)
        cases = reconcile.mismatches(s)
    print(verdict, file=sys.stdout if verdict.intact else sys.stderr)
    print(report, file=sys.stdout if report.holds else sys.stderr)
    if cases:
        print("Casos que no concuerdan con sus eventos:", file=sys.stderr)
        for line in cases:
            print(f"  - {line}", file=sys.stderr)
    else:
        print("Casos: el estado, el plazo y el cierre de cada uno concuerdan con sus eventos.")
    return 0 if verdict.intact and report.holds and not cases else 1


def _new_key(path: Path | None) -> int:
    """Create the seals' signing key (readable by its owner only) and its public half beside it."""
    if path is None:
        print("Indique dónde crear la clave: --archivo RUTA o ATIENDE_AUDIT_KEY.", file=sys.stderr)
        return 2
    try:
        public = audit_seals.generate_key(path)
    except SealError as refused:
        print(refused, file=sys.stderr)
        return 1
    print(
        f"Clave creada en {path} (solo su dueño la puede leer): guárdela fuera de la base de datos y de sus copias.\n"
        f"Clave pública en {public}: désela a los auditores (ATIENDE_AUDIT_PUBLIC_KEY) para comprobar los sellos."
    )
    return 0


def _send_mail(atiende: Atiende, args) -> int:
    """The outbox worker: send what steps wrote, over the configured SMTP server."""
    settings = atiende.settings.smtp
    if not settings.configured:
        print(
            "No hay servidor SMTP configurado (ATIENDE_SMTP_HOST): los mensajes quedan en la bandeja de salida.",
            file=sys.stderr,
        )
        return 1
    worker = smtp.MailWorker(atiende.store, settings)
    if args.once:
        print(worker.run_once())
        return 0
    stop = threading.Event()
    try:
        smtp.mail_worker(worker, args.interval, stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def _validate(processes_dir: Path, forms_dir: Path) -> int:
    """Check a diagram set as a deploy would (scenarios included), on no database."""
    try:
        candidates = publishing.validate(publishing.read_directory(processes_dir, forms_dir), InstanceSerializer())
    except DiagramError as exc:
        return _refuse("Los diagramas no pasan la validación:", exc)
    for candidate in candidates:
        print(f"{candidate.process_id}: válido ({candidate.content_hash[:12]})")
    return 0


def _refuse(title: str, exc: DiagramError) -> int:
    print(title, file=sys.stderr)
    for problem in exc.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
