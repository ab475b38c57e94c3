"""Answers file: typed model, YAML load/save with line/column errors, JSON Schema, rules.

Imports only pydantic and yaml (never azure or textual).
"""

from . import rules
from .errors import AnswersError, FieldError
from .loader import (
    answers_from_dict,
    answers_to_yaml,
    json_schema,
    load_answers,
    load_partial,
    parse_answers,
    save_answers,
    save_partial,
)
from .model import (
    Addons,
    Answers,
    Autoscale,
    AzureAnswers,
    ClusterAnswers,
    CustomCloud,
    FleetAnswers,
    FleetMember,
    GpuPoolAnswers,
    Istio,
    KueueAnswers,
    Network,
    ResourceGroupAnswers,
    SystemPool,
    VerifyAnswers,
)
from .yaml_read import format_path

__all__ = [
    "load_answers",
    "parse_answers",
    "answers_from_dict",
    "load_partial",
    "answers_to_yaml",
    "save_answers",
    "save_partial",
    "json_schema",
    "format_path",
    "rules",
    "Answers",
    "AzureAnswers",
    "CustomCloud",
    "FleetAnswers",
    "FleetMember",
    "ResourceGroupAnswers",
    "ClusterAnswers",
    "SystemPool",
    "Network",
    "Istio",
    "Addons",
    "GpuPoolAnswers",
    "Autoscale",
    "KueueAnswers",
    "VerifyAnswers",
    "FieldError",
    "AnswersError",
]
