"""The `workers:` section of config.yaml: off by default; when on, crawls run on RQ workers.

    workers:
      enabled: true
      redis_url: redis://redis:6379/0     # the engine; ${VAR} for a password
      batch_size: 20                      # sources per batch handed to one worker
      lease: 10m                          # a batch not handed back by then is crawled again
      heartbeat: 5s                       # workers beat this often; 3 missed beats = gone

`scheduler.config` validates it with the rest of the file; `WorkersSettings` is what the brain
and the workers receive. Settings read: the `workers:` keys above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["WorkersModel", "WorkersSettings"]

_Duration = Annotated[int, Field(description="seconds; accepts 30s, 5m, 1h, 1d")]


def _duration(value: Any) -> int:
    from scheduler.config import parse_duration  # here, not at import: scheduler.config imports this module

    return parse_duration(value)


class WorkersModel(BaseModel):
    """The validated `workers:` mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=False, description="crawl on `newswatch worker` processes through Redis "
                          "(RQ) instead of in the daemon; the daemon keeps the database (see docs/workers.md)")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^(redis|rediss|unix)://",
                           description="the Redis the brain and the workers share (redis://, rediss:// or "
                           "unix://); put a password in ${VAR}")
    batch_size: int = Field(default=20, ge=1, le=1000, description="sources handed to a worker in one batch "
                            "(one site's sources always travel together)")
    lease: _Duration = Field(default=600, description="a batch not handed back within this is crawled again by "
                             "another worker; also the job timeout on the worker (10m by default)")
    heartbeat: _Duration = Field(default=5, description="workers report every this often; one silent for "
                                 "three beats counts as gone and gets no more batches")

    _lease = field_validator("lease", "heartbeat", mode="before")(classmethod(lambda cls, v: _duration(v)))


@dataclass(frozen=True, slots=True)
class WorkersSettings:
    """What the brain and the workers need from `workers:` (see the module docstring)."""

    enabled: bool = False
    redis_url: str = "redis://127.0.0.1:6379/0"
    batch_size: int = 20
    lease_seconds: int = 600
    heartbeat_seconds: int = 5

    @classmethod
    def from_model(cls, model: WorkersModel) -> WorkersSettings:
        """The settings of a validated `workers:` mapping."""
        return cls(model.enabled, model.redis_url, model.batch_size, model.lease, model.heartbeat)

    @property
    def shown_url(self) -> str:
        """`redis_url` with any password replaced by `***` (for status and logs)."""
        parts = urlsplit(self.redis_url)
        if parts.password is None:
            return self.redis_url
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
