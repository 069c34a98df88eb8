"""How long the paperwork takes: one hoja de trámite, and a consolidado of 10,000 cases.

* Hoja: the median and p95 of ``--renders`` renders of one hoja de trámite PDF
  (``engine.paperwork.documents.hoja_de_tramite_pdf``), after a warm-up; then the median of the whole
  approval step on the real procedures (the coordinator's completion: engine step, the hoja's
  facts kept as its snapshot, outbox row and audit events, one commit) over ``--approvals``
  cases, beside the median of the step before it (the hoja form, which makes no paper) and of
  the rendering after commit (``engine.paperwork.rendering.render_pending``, as the outbox worker does
  it: snapshot read, PDF made, bytes and audit event stored in a short transaction).
* Consolidado: ``--cases`` open cases of one dirección, bulk-inserted into SQLite (half with a
  follow-up in the audit trail). Each stage runs in a fresh process, so its memory is its own:
  the rows (``engine.paperwork.consolidado.build``: two queries) and the XLSX (openpyxl, write-only)
  measured with tracemalloc, the PDF (``engine.paperwork.tabla_pdf``: ReportLab's ``LongTable``s of
  pre-wrapped text) by the growth of the process's peak resident size
  (``ru_maxrss``). The PDF's target is 5 s for 10,000 cases.

    .venv/bin/python bench/documents.py [--cases 10000] [--renders 30] [--approvals 20]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import common  # noqa: E402  (it also takes bench/ off sys.path: "engine" is the package)
from sqlalchemy import insert, select  # noqa: E402

from engine.access.accounts import create_user  # noqa: E402
from engine.audit import trail as audit  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.db.models import Case, HumanTask  # noqa: E402
from engine.db.store import Store  # noqa: E402
from engine.facade import Atiende  # noqa: E402
from engine.paperwork import consolidado, documents, rendering

DIRECCION = "planificacion_urbana"
PDF_TARGET_SECONDS = 5.0  # the consolidado PDF of 10,000 cases


def _ms(seconds: float) -> float:
    return round(1000 * seconds, 2)


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def sample_hoja() -> documents.HojaDeTramite:
    return documents.HojaDeTramite(
        ticket="AC-2026-000123",
        fecha=common.START,
        direccion="Dirección de Planificación Urbana",
        enlaces=[documents.Persona("Elena Enlace", "enlace@atiende.example")],
        tipo_caso="Queja o reclamo",
        canal="Correo electrónico",
        asunto="Basura sin recoger en la calle 50",
        prioridad="Normal",
        resumen="Hace dos semanas no pasa el camión recolector; hay bolsas acumuladas frente a los edificios. " * 3,
        datos_ciudadano_y_lugar="María Pérez, 6123-4567, Calle 50 y Vía España, frente a la parada.",
        corregimiento="Bella Vista",
        lugar_notificaciones="maria.perez@example.com",
        fecha_limite=common.START + timedelta(days=30),
        aprobada_por="Carlos Coordinador",
        aprobada_el=common.START,
        comentarios_aprobacion="Conforme.",
        acuse_url="https://atiende.example/acuse/AC-2026-000123",
    )


def bench_hoja(renders: int) -> dict:
    hoja = sample_hoja()
    documents.hoja_de_tramite_pdf(hoja)  # warm-up: fonts, templates
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        content = documents.hoja_de_tramite_pdf(hoja)
        times.append(time.perf_counter() - started)
    return {
        "renders": renders,
        "median_ms": _ms(statistics.median(times)),
        "p95_ms": _ms(_p95(times)),
        "bytes": len(content),
    }


def bench_approval(db: common.Database, approvals: int) -> dict:
    """The coordinator's approval step on the real procedures, remission included, on SQLite."""
    store = common.prepared_store(db)
    with store.unit_of_work() as s:
        create_user(s, "enlace", "Elena Enlace", "x", ["enlace"], email="enlace@atiende.example", direccion=DIRECCION)
        create_user(s, "coordinador", "Carlos Coordinador", "x", ["coordinador"])
    atiende = Atiende(store, FrozenClock(common.START))
    atiende.deploy_directory("bench")
    hoja_step, approval_step, rendered = [], [], []
    for i in range(approvals + 1):
        case_id = atiende.start_case(common.PROCESS, common.start_form(i), common.OPERADOR).case_id
        for measure in (None, hoja_step, approval_step):
            with store.read() as s:
                task = s.scalar(select(HumanTask).where(HumanTask.case_id == case_id))
            data = common.task_form(task.form, i)
            if task.form == "hoja_de_tramite":
                data["direccion"] = DIRECCION
            started = time.perf_counter()
            atiende.complete_task(task.id, data, common.actor_for(task.lane, i))
            if measure is not None and i > 0:  # case 0 warms the caches
                measure.append(time.perf_counter() - started)
        started = time.perf_counter()
        if rendering.render_pending(store, 1) != 1:
            raise RuntimeError("the approval left no hoja to render")
        if i > 0:
            rendered.append(time.perf_counter() - started)
    store.dispose()
    return {
        "cases": approvals,
        "hoja_form_step_median_ms": _ms(statistics.median(hoja_step)),
        "approval_with_remission_median_ms": _ms(statistics.median(approval_step)),
        "approval_with_remission_p95_ms": _ms(_p95(approval_step)),
        "render_after_commit_median_ms": _ms(statistics.median(rendered)),
    }


def fill(url: str, cases: int) -> None:
    """``cases`` open cases of one dirección, half with a follow-up, bulk-inserted."""
    store = Store(url)
    atiende = Atiende(store, FrozenClock(common.START))
    atiende.deploy_directory("bench")
    with store.read() as s:
        version = atiende.latest_procedure(s, common.PROCESS).version_id
    rows, events = [], []
    for i in range(cases):
        opened = common.START - timedelta(days=i % 29, hours=i % 7)
        form = common.start_form(i)
        rows.append(
            {
                "id": i + 1,
                "ticket": f"AC-2026-{i + 1:06d}",
                "procedure_version_id": version,
                "case_type": form["tipo_caso"],
                "channel": form["canal"],
                "citizen_name": form["ciudadano_nombre"],
                "subject": form["asunto"],
                "direccion": DIRECCION,
                "corregimiento": form["corregimiento"],
                "status": "en seguimiento" if i % 10 else "escalado a la unidad",
                "opened_at": opened,
                "due_at": opened + timedelta(days=30),
                "created_by": "operador",
                "revision": 0,  # no step taken: no workflow state (``case_state``), never loaded
                "data": {
                    # each case's own words, as in a real list: no two rows wrap alike
                    "resumen": f"Ciudadano reporta falta de recolección de basura (reporte {i}); bolsas "
                    f"acumuladas frente a la parada de la calle {i % 97}.",
                    **(
                        {"avance_semanal": f"La dirección programó la inspección {i} para esta semana."}
                        if i % 2
                        else {}
                    ),
                },
            }
        )
        if i % 2:
            events.append((opened + timedelta(days=7), i + 1))
    with store.unit_of_work() as s:
        s.execute(insert(Case), rows)
        for at, case_id in sorted(events):  # through audit.record: the trail chains each event to the last
            audit.record(
                s,
                at,
                f"enlace_{DIRECCION}",
                "tarea_completada",
                case_id=case_id,
                detail={"datos": {"avance_semanal": "Inspección programada."}},
            )
    store.dispose()


def _stage(url: str, stage: str, queue) -> None:
    """Run one consolidado stage in this (fresh) process; report its time and memory.

    Time is taken on a plain run. Memory: for the rows and the XLSX (Python objects) the peak
    of a second, traced run (tracemalloc); for the PDF the growth of the process's peak resident
    size over its size before the stage (what WeasyPrint's Pango and cairo took outside Python
    showed only there), and the traced peak of a second run beside it.
    """
    store = Store(url)
    now = common.START + timedelta(days=1)

    def run(session):
        if stage == "rows":
            return len(consolidado.build(session, DIRECCION, now, "semanal").filas)
        if stage == "xlsx":
            return len(documents.consolidado_xlsx(built))
        return len(documents.consolidado_pdf(built))

    with store.read() as s:
        built = consolidado.build(s, DIRECCION, now, "semanal") if stage != "rows" else None
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        size = run(s)
        elapsed = time.perf_counter() - started
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024
        tracemalloc.start()
        run(s)
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    store.dispose()
    figures = {
        "seconds": round(elapsed, 2),
        "peak_mb": round(grew if stage == "pdf" else traced, 1),
        "measured_by": "ru_maxrss growth" if stage == "pdf" else "tracemalloc peak",
        "size": size,
    }
    if stage == "pdf":
        figures["traced_peak_mb"] = round(traced, 1)
    queue.put(figures)


def bench_consolidado(url: str, cases: int) -> dict:
    fill(url, cases)
    context = multiprocessing.get_context("spawn")
    figures: dict = {"cases": cases, "pdf_target_seconds": PDF_TARGET_SECONDS}
    for stage in ("rows", "xlsx", "pdf"):
        queue = context.Queue()
        child = context.Process(target=_stage, args=(url, stage, queue))
        child.start()
        figures[stage] = queue.get()
        child.join()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--approvals", type=int, default=20)
    args = parser.parse_args()

    hoja = bench_hoja(args.renders)
    print(
        f"Hoja de trámite: median {hoja['median_ms']} ms, p95 {hoja['p95_ms']} ms "
        f"({hoja['renders']} renders, {hoja['bytes']} bytes)"
    )
    with common.sqlite_database() as db:
        approval = bench_approval(db, args.approvals)
    print(
        f"Approval step with remission (SQLite, {approval['cases']} cases): median "
        f"{approval['approval_with_remission_median_ms']} ms, p95 {approval['approval_with_remission_p95_ms']} ms; "
        f"the hoja form step before it: {approval['hoja_form_step_median_ms']} ms; the hoja rendered after commit: "
        f"{approval['render_after_commit_median_ms']} ms"
    )
    with common.sqlite_database() as db:
        store = common.prepared_store(db)
        store.dispose()
        figures = bench_consolidado(db.url, args.cases)
    for stage, label in (("rows", "rows (2 queries)"), ("xlsx", "XLSX"), ("pdf", "PDF")):
        f = figures[stage]
        target, traced = "", ""
        if stage == "pdf":
            target = f" (target {PDF_TARGET_SECONDS:g} s at 10,000 cases)"
            traced = f", tracemalloc peak {f['traced_peak_mb']} MB"
        print(
            f"Consolidado of {args.cases} cases, {label}: {f['seconds']} s{target}, peak {f['peak_mb']} MB "
            f"({f['measured_by']}{traced}), {f['size']} {'rows' if stage == 'rows' else 'bytes'}"
        )
    print(json.dumps({"benchmark": "documents", "hoja": hoja, "approval": approval, "consolidado": figures}))


if __name__ == "__main__":
    main()
