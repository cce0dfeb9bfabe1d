"""Operations tests: probes, metrics, logs, shutdown, retention and the cluster. Process
tests reuse the fault tests' throwaway servers and app runner."""

from tests.faults.conftest import throwaway_postgres, workdir  # noqa: F401  (fixtures)
