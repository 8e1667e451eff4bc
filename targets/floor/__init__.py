"""The floor: the same stack with handlers that do no I/O, the ceiling of this machine."""

from targets.common.description import TargetDescription
from targets.floor.stats import FloorStats

TARGET = TargetDescription(name="floor", app="targets.floor.app:create_app", stats=FloorStats)
