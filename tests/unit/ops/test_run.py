"""`make run REPLICAS=N`: N processes of every service, the extra gateways on ports of their own."""
import pytest

from ops.run import replicas_wanted, replicated_procfile
from shared.settings import PROJECT_ROOT

PROCFILE = (PROJECT_ROOT / "Procfile").read_text()


def test_one_replica_is_the_procfile_itself():
    assert replicated_procfile(PROCFILE, 1, "127.0.0.1:8000").splitlines() == PROCFILE.splitlines()


def test_two_replicas_of_each_service_and_one_of_each_sink():
    lines = replicated_procfile(PROCFILE, 2, "127.0.0.1:8000").splitlines()
    names = [line.split(":", 1)[0] for line in lines if not line.startswith("#")]
    assert names == ["auth-1", "auth-2", "files-1", "files-2", "notify-1", "notify-2", "gateway-1", "gateway-2",
                     "mailsink", "smssink"]
    assert "gateway-1: python -m ops.serve gateway" in lines
    assert "gateway-2: env GATEWAY_ADDRESS=127.0.0.1:8001 python -m ops.serve gateway" in lines


@pytest.mark.parametrize("value, wanted", [("", 1), ("1", 1), ("2", 2), ("8", 8), ("0", None), ("9", None),
                                           ("two", None), ("-1", None)])
def test_replicas_is_a_small_whole_number(value, wanted):
    assert replicas_wanted({"REPLICAS": value}) == wanted
