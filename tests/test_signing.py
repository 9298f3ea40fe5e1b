"""`Datasette.sign` / `unsign`: verified values are remembered (datasette/signing.py),
which must change nothing a caller can see."""

import pytest
from itsdangerous import BadSignature

from datasette.app import Datasette


@pytest.fixture
def ds(make_ds):
    return make_ds([], secret="one secret")


def test_each_caller_gets_its_own_copy(ds):
    signed = ds.sign({"a": {"id": "root", "roles": ["x"]}}, "actor")
    first = ds.unsign(signed, "actor")
    first["a"]["roles"].append("changed")
    first["a"]["id"] = "someone else"
    second = ds.unsign(signed, "actor")
    assert second == {"a": {"id": "root", "roles": ["x"]}}
    assert second is not first


def test_a_value_signed_in_one_namespace_does_not_verify_in_another(ds):
    signed = ds.sign({"a": "root"}, "token")
    assert ds.unsign(signed, "token") == {"a": "root"}
    with pytest.raises(BadSignature):
        ds.unsign(signed, "actor")
    assert ds.unsign(signed, "token") == {"a": "root"}


def test_a_tampered_value_is_refused_every_time(ds):
    signed = ds.sign({"a": "root"}, "token")
    tampered = signed[:-2] + ("AA" if signed[-2:] != "AA" else "BB")
    for _ in range(2):
        with pytest.raises(BadSignature):
            ds.unsign(tampered, "token")


def test_a_changed_secret_is_used_at_once(ds):
    signed = ds.sign({"a": "root"}, "token")
    assert ds.unsign(signed, "token") == {"a": "root"}
    ds._secret = "another secret"
    with pytest.raises(BadSignature):
        ds.unsign(signed, "token")
    assert ds.unsign(ds.sign({"a": "root"}, "token"), "token") == {"a": "root"}


def test_another_instance_with_another_secret_refuses_it(make_ds, ds):
    signed = ds.sign("value", "default")
    other = make_ds([], secret="other")
    assert ds.unsign(signed) == "value"
    with pytest.raises(BadSignature):
        other.unsign(signed)


def test_many_values_are_all_still_verified(ds):
    values = [{"n": i} for i in range(3000)]
    signed = [ds.sign(v, "token") for v in values]
    assert [ds.unsign(s, "token") for s in signed] == values
    assert [ds.unsign(s, "token") for s in signed[:5]] == values[:5]
