"""indexes for the bandeja's sorts and the case page at a million cases

Revision ID: 0023
Revises: 0022

At a million cases a desk holds a couple of hundred thousand open tasks. The bandeja sorted by any
column but the due date sorted all of them for every page; each sort now has an index that gives
its order (``engine.cases.finding.worklist``): the lane, the column, then the due date and the id that
break ties, for a person's bandeja, and the same without the lane for the whole team's; each also
holds the columns the filters read, as 0004's two indexes by due date do, so a page never reads
a task's row to filter it. A person's own tasks (the «tomadas por usted» count, the «Mías» view)
have theirs: the assignee, the lane, then the due date; counting them walked the whole lane.

The case page of an operator or a coordinador lists the possible duplicates of the case: the open
cases of its corregimiento and case type opened within 90 days of it (``engine.cases.finding.duplicates``).
With an index on each column alone, the database walked every case opened in those 180 days to find
the few of that place and type; ``ix_cases_duplicates`` reads just them, in the order wanted, with
their status.
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

WORKLIST_FILTERS = ["assignee", "direccion", "case_type", "channel", "corregimiento"]  # covered, as in 0004
SORTS = [("name", "name"), ("type", "case_type"), ("direccion", "direccion"), ("created", "created_at")]


def upgrade() -> None:
    for name, column in [*SORTS, ("case", "case_id")]:
        covered = [c for c in WORKLIST_FILTERS if c != column]
        op.create_index(f"ix_human_task_lane_{name}", "human_task", ["lane", column, "due_at", "id", *covered])
        if name != "case":
            op.create_index(f"ix_human_task_{name}_due", "human_task", [column, "due_at", "id", "lane", *covered])
    mine = ["assignee", "lane", "due_at", "id", *(c for c in WORKLIST_FILTERS if c != "assignee")]
    op.create_index("ix_human_task_mine", "human_task", mine)
    op.create_index("ix_cases_duplicates", "cases", ["corregimiento", "case_type", "opened_at", "status"])
    # Statistics for the new indexes: without them SQLite takes any index on the lane for as narrow
    # as one by the lane and due date, and sorts the whole lane for a page.
    op.execute("ANALYZE human_task")


def downgrade() -> None:
    op.drop_index("ix_cases_duplicates", table_name="cases")
    op.drop_index("ix_human_task_mine", table_name="human_task")
    for name, _column in SORTS:
        op.drop_index(f"ix_human_task_{name}_due", table_name="human_task")
    for name, _column in [*SORTS, ("case", "case_id")]:
        op.drop_index(f"ix_human_task_lane_{name}", table_name="human_task")
