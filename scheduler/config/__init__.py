"""Configuration: `config.yaml` loaded, validated once and turned into plain typed values.

The one place that reads `os.environ`. Modules, one job each:

- ``load``: read, substitute ``${VAR}``, validate, build the `Config` (``load_config``);
- ``models``: the pydantic models of the file's structure (``FileModel`` and its sections);
- ``durations``: ``30s``/``5m``/``1h`` durations;
- ``locate``: key path -> line, for ``config.yaml:12 sources[0].every: ...`` messages;
- ``targets``: target models -> ``alerts.TargetSpec`` (or disabled while a ``${VAR}`` is unset);
- ``settings``: `Config` and the settings values it carries;
- ``schema``: the settings reference and the JSON Schema (``newswatch config schema``).

Settings read: the whole file and `NEWSWATCH_DATABASE`, `NEWSWATCH_LOG_LEVEL` (see ``load``).
"""

from scheduler.config.durations import parse_duration
from scheduler.config.load import load_config, target_names
from scheduler.config.models import SourceModel
from scheduler.config.schema import config_schema, settings_reference
from scheduler.config.settings import (
    Config,
    DeliverySettings,
    MetricsSettings,
    OperationsSettings,
    RetentionSettings,
)
from scheduler.errors import ConfigError

_SourceModel = SourceModel  # the name tests/crawler/test_redos.py knows

__all__ = [
    "Config",
    "ConfigError",
    "DeliverySettings",
    "MetricsSettings",
    "OperationsSettings",
    "RetentionSettings",
    "config_schema",
    "load_config",
    "parse_duration",
    "settings_reference",
    "target_names",
]
