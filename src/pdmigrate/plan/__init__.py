"""The plan stage: everything decided before the first write (issue 6).

* :mod:`.model` – the interface types ``run`` executes (TargetPrep, Owners, Plan);
* :mod:`.store` – plan.json in the workspace (:func:`save_plan`, :func:`load_plan`);
* :mod:`.account` – one listing each from the account; the workspace's client;
* :mod:`.source` – the confirmed mapping applied to the exports; private rows; files;
* :mod:`.target` – target preparation: fields, pipelines, stages, activity types, reuse;
* :mod:`.owners` – owner resolution from one user listing + the editable owners.csv;
* :mod:`.dedup` – source dedup (decisions.csv) and account dedup by paged listing;
* :mod:`.estimate` – op counts, tokens, hours/days under plan and seats, ``--within``;
* :mod:`.complexity` – the A-D grade of landing rules §7;
* :mod:`.payloads` – the payloads run loads (merges, folds, Contact Sync, order);
* :mod:`.report` – reports/plan.json and reports/plan.md;
* :mod:`.build` – :func:`build_plan`, :func:`plan_workspace` and :func:`payloads_for_run`
  (import them from ``pdmigrate.plan.build``: this package stays light for ``load``).
"""

from __future__ import annotations

from pdmigrate.plan.model import (
    ADDRESS_FIELD,
    DOB_FIELD,
    SOURCE_CREATED_FIELD,
    SOURCE_ID_FIELD,
    VISIBLE_PRIVATE,
    ActivityTypeSpec,
    FieldSpec,
    Owners,
    PipelineSpec,
    Plan,
    StageSpec,
    TargetPrep,
    plan_from_dict,
    plan_to_dict,
)
from pdmigrate.plan.store import PLAN_NAME, load_plan, plan_path, save_plan

__all__ = [
    "ADDRESS_FIELD",
    "DOB_FIELD",
    "PLAN_NAME",
    "SOURCE_CREATED_FIELD",
    "SOURCE_ID_FIELD",
    "VISIBLE_PRIVATE",
    "ActivityTypeSpec",
    "FieldSpec",
    "Owners",
    "PipelineSpec",
    "Plan",
    "StageSpec",
    "TargetPrep",
    "load_plan",
    "plan_from_dict",
    "plan_path",
    "plan_to_dict",
    "save_plan",
]
