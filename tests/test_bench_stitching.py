"""The stitching benchmark at a tiny size: it runs, both algorithms agree, the counts add up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.stitching import Partition, count_mismatches, generate_graph

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_generated_graph_is_deterministic_with_random_distinct_ids() -> None:
    graph = generate_graph(5_000, seed=3)
    again = generate_graph(5_000, seed=3)
    assert np.array_equal(graph.node_a, again.node_a)
    assert np.array_equal(graph.node_b, again.node_b)
    assert graph.node_a.size == 5_000
    ids = np.unique(np.concatenate([graph.node_a, graph.node_b]))
    assert ids.size == graph.shape.nodes
    assert ids[0] > 0
    assert not np.any(graph.node_a == graph.node_b)
    pairs = np.sort(np.stack([graph.node_a, graph.node_b], axis=1), axis=1)
    assert np.unique(pairs, axis=0).shape[0] == 5_000
    assert ids[-1] > 2**48  # spread over the int64 range, not dense


def test_mismatches_count_wrong_missing_unknown_and_repeated_nodes() -> None:
    expected = Partition(np.array([10, 20, 30, 40]), np.array([10, 10, 30, 30]))
    assert count_mismatches(expected, expected) == 0
    wrong = Partition(np.array([40, 30, 20, 10]), np.array([30, 30, 20, 10]))
    assert count_mismatches(wrong, expected) == 1
    missing_and_unknown = Partition(np.array([10, 20, 30, 50]), np.array([10, 10, 30, 30]))
    assert count_mismatches(missing_and_unknown, expected) == 2
    repeated = Partition(np.array([10, 20, 30, 40, 40]), np.array([10, 10, 30, 30, 30]))
    assert count_mismatches(repeated, expected) == 1


def test_benchmark_at_5k_edges_matches_scipy(tmp_path: Path) -> None:
    results_file = tmp_path / "stitching.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.stitching", "--edges", "5k", "--json", str(results_file)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "MATCH" in result.stdout
    assert "converged in" in result.stderr

    document = json.loads(results_file.read_text())
    assert document["match"] is True
    (size,) = document["sizes"]
    graph = size["graph"]
    assert size["edges"] == 5_000
    assert size["partition"] == {"match": True, "mismatching_nodes": 0}
    assert graph["components"] == graph["stars"] + graph["chains"] + graph["small_components"]
    assert graph["nodes"] == (
        graph["stars"] * (graph["star_leaves"] + 1)
        + graph["chains"] * graph["chain_nodes"]
        + graph["small_nodes"]
    )
    for side in ("sql", "scipy"):
        assert size[side]["nodes"] == graph["nodes"] == size["nodes"]
        assert size[side]["components"] == graph["components"] == size["components"]
    assert size["sql"]["rounds"] >= 1
