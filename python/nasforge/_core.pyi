"""Type stubs of the extension module ``nasforge._core`` (Rust, PyO3). Use the ``nasforge`` package's
classes rather than these: they take Python values where these take JSON."""

from typing import Optional

Metrics = dict[str, float]
AskedTrial = tuple[int, str, str, list[int], int]

class NasforgeError(ValueError):
    """Bad input or a store that cannot be used; the message says which."""

def names() -> tuple[list[str], list[str], list[str]]:
    """The names of the search spaces, strategies and evaluators."""

def arch_forms(space_json: str, arch: str) -> tuple[str, str, list[int]]:
    """``(printed, json, decisions)`` of an architecture given as its printed or JSON form."""

class Session:
    """One ask-and-tell session on a study: its own store connection and lease."""

    def ask(self, max_paid: Optional[int] = None) -> Optional[AskedTrial]: ...
    def report(self, number: int, metrics: Metrics) -> Optional[str]: ...
    def tell(
        self, number: int, state: str, metrics: Optional[Metrics] = None, reason: Optional[str] = None
    ) -> None: ...
    def evaluate(self, number: int) -> tuple[Optional[Metrics], Optional[str]]: ...
    def pending(self) -> list[int]: ...

class Study:
    """A study of a store."""

    @staticmethod
    def create(
        storage: str,
        name: str,
        config_json: str,
        evaluator: Optional[str] = None,
        table: Optional[str] = None,
        load_if_exists: bool = False,
        device_name: str = "cpu",
    ) -> tuple[Study, Session]: ...
    @staticmethod
    def load(storage: str, name: str) -> Study: ...
    @staticmethod
    def list(storage: str) -> list[tuple[str, str, float]]: ...
    def session(self, device_name: str = "cpu") -> Session: ...
    @property
    def name(self) -> str: ...
    def config_json(self) -> str: ...
    def trials_json(self) -> str: ...
    def best_json(self) -> Optional[str]: ...
    def pareto_json(self) -> str: ...
    def run(self, trials: Optional[int] = None, workers: int = 1, device_name: str = "cpu") -> str: ...

class Evaluator:
    """A benchmark table, training or zero-cost proxies outside any study."""

    def __init__(self, space_json: str, evaluator_json: str, seed: int = 0, device_name: str = "cpu") -> None: ...
    def evaluate(self, arch: str, seed: int = 0) -> tuple[Optional[Metrics], Optional[str]]: ...
    def size_metrics(self, arch: str) -> Metrics: ...
