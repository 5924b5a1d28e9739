"""tools/move.py's pure parts: the preflight's rules, the offsets and replica counts the switch waits on, the
plan --dry-run prints, and the command line's errors. The move itself runs in tests/docker/test_move.py."""

from __future__ import annotations

import dataclasses

import pytest

from components.checks import cli as checks_cli
from harness.seed_setup import redis_conf, sentinel_conf
from tools import move

FACTS = move.Facts(
    old_role="master",
    old_master_of="None:None",
    old_version="7.0.15",
    old_used_memory=40 * 1024**2,
    old_keys=100000,
    new_master="festival-redis-master:6379",
    new_version="8.2.9",
    new_maxmemory=512 * 1024**2,
    new_role="master",
    new_foreign_keys=0,
    new_health="healthy",
    new_healthy=True,
)


def test_a_healthy_empty_newer_stack_passes_the_preflight():
    assert move.preflight_problems(FACTS) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            {"old_role": "slave", "old_master_of": "redis-replica-1:6379"},
            "old node role=slave (replica of redis-replica-1:6379): --from must be the old master",
        ),
        ({"new_version": "7.0.15", "old_version": "8.0.2"}, "new stack redis_version=7.0.15 is older than the old"),
        (
            {"old_used_memory": 600 * 1024**2},
            f"old used_memory={600 * 1024**2} bytes exceeds the new stack's maxmemory",
        ),
        ({"new_role": "slave"}, "new master festival-redis-master:6379 role=slave"),
        ({"new_foreign_keys": 3}, "holds 3 keys: the copy replaces all of them; move into a new, empty stack"),
        ({"new_healthy": False, "new_health": "unhealthy: no quorum"}, "not healthy: unhealthy: no quorum"),
        ({"same_node": True}, "--from names a node of the new stack itself"),
    ],
)
def test_each_preflight_rule_names_what_it_saw(change, expected):
    problems = move.preflight_problems(dataclasses.replace(FACTS, **change))
    assert len(problems) == 1 and expected in problems[0], problems


def test_keys_on_the_new_master_are_replaced_only_when_asked():
    facts = dataclasses.replace(FACTS, new_foreign_keys=3)
    assert move.preflight_problems(facts, replace_new_data=True) == []


def test_no_memory_limit_on_the_new_stack_is_no_memory_problem():
    assert move.preflight_problems(dataclasses.replace(FACTS, new_maxmemory=0)) == []


def test_versions_compare_by_number_not_text():
    assert move.version_tuple("10.0.1") > move.version_tuple("8.2.9") > move.version_tuple("8.0.2")


def replica_info(**fields):
    return {"role": "slave", "master_link_status": "up", "master_sync_in_progress": 0, "slave_repl_offset": 500} | (
        fields
    )


def test_a_replica_has_caught_up_only_linked_loaded_and_at_the_offset():
    assert move.caught_up(replica_info(), 500)
    assert not move.caught_up(replica_info(), 501)
    assert not move.caught_up(replica_info(master_link_status="down"), 0)
    assert not move.caught_up(replica_info(master_sync_in_progress=1), 0)
    assert not move.caught_up(replica_info(role="master"), 0)


def test_online_replicas_count_only_online_ones_within_the_lag():
    info = {
        "slave0": {"ip": "a", "port": 6379, "state": "online", "lag": 0},
        "slave1": {"ip": "b", "port": 6379, "state": "wait_bgsave", "lag": 0},
        "slave2": {"ip": "c", "port": 6379, "state": "online", "lag": 12},
        "slave_read_only": 1,
    }
    assert move.online_replicas(info) == 2
    assert move.online_replicas(info, max_lag=10) == 1


def test_the_new_master_is_what_a_majority_of_sentinels_names():
    assert move.majority_answer(["m:6379", "m:6379", None], "a master") == "m:6379"
    with pytest.raises(move.MoveError, match=r"no majority .* answered \['m:6379', 'n:6379', None\]"):
        move.majority_answer(["m:6379", "n:6379", None], "a master")


def test_the_plan_names_every_address_and_value_it_changes():
    source = move.Source("127.0.0.1:6379", "redis-master:6379", "secret")
    steps = "\n".join(move.plan(source, "new-master:6379", ("s1:26379", "s2:26379"), "kubectl rollout restart x"))
    for text in (
        "s1:26379, s2:26379",
        f"down-after-milliseconds {move.HOLD_DOWN_AFTER_MS}",
        "REPLICAOF redis-master 6379",
        f"127.0.0.1:6379: CONFIG SET min-replicas-to-write {move.FREEZE_MIN_REPLICAS}",
        "new-master:6379",
        "'kubectl rollout restart x'",
    ):
        assert text in steps
    assert "secret" not in steps


@pytest.mark.parametrize("text", ["redis-master", "redis-master:", ":6379", "redis-master:0", "redis-master:70000"])
def test_a_bad_address_is_refused_naming_option_value_and_rule(text):
    with pytest.raises(checks_cli.UsageError, match=rf"--from '{text}': expected HOST:PORT with a port from 1 to"):
        move.parse_address(text, "--from")


def test_the_command_line_refuses_bad_input_before_connecting(capsys, monkeypatch):
    monkeypatch.delenv("OLD_REDIS_PASSWORD", raising=False)
    assert move.main(["--from", "127.0.0.1:6379", "--redis", "n:6379", "--sentinel", "s:26379"]) == move.EXIT_USAGE
    assert "no password for the old master: set $OLD_REDIS_PASSWORD or --from-password-file" in capsys.readouterr().err
    monkeypatch.setenv("OLD_REDIS_PASSWORD", "x")
    assert move.main(["--from", "127.0.0.1:6379", "--replicate-from", "redis-master"]) == move.EXIT_USAGE
    assert "--replicate-from 'redis-master': expected HOST:PORT" in capsys.readouterr().err
    assert move.main(["--from", "127.0.0.1:6379"]) == move.EXIT_USAGE
    assert "give --stack, or at least one --redis and one --sentinel" in capsys.readouterr().err


def test_the_old_password_comes_from_a_file_or_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("OLD_REDIS_PASSWORD", raising=False)
    (tmp_path / "old").write_text("from-file\n")
    args = move.parse_args(["--from", "h:1", "--from-password-file", str(tmp_path / "old")])
    assert move.source_from_args(args) == move.Source("h:1", "h:1", "from-file")
    monkeypatch.setenv("OLD_REDIS_PASSWORD", "from-env")
    args = move.parse_args(["--from", "h:1", "--replicate-from", "redis-master:6379", "--from-user", "u"])
    assert move.source_from_args(args) == move.Source("h:1", "redis-master:6379", "from-env", "u")


def test_the_old_setup_for_the_tests_has_the_seeds_values_and_the_password_it_is_given():
    master, replica, sentinel = redis_conf("pw1"), redis_conf("pw1", "redis-master"), sentinel_conf("pw1")
    for line in ("maxmemory 512mb", "maxmemory-policy allkeys-lru", "maxclients 10000", "appendfsync everysec"):
        assert line in master and line in replica
    assert 'requirepass "pw1"' in master and "replicaof" not in master
    assert "replicaof redis-master 6379" in replica
    for line in ("monitor festival-master redis-master 6379 2", "down-after-milliseconds festival-master 5000"):
        assert line in sentinel
    assert 'auth-pass festival-master "pw1"' in sentinel
