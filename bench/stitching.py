"""Identity stitching benchmark: the dbt connected-components macro against scipy.

For each size (a number of edges) the benchmark

1. generates an identity-like graph (shape in `generate_graph`) whose node ids are
   distinct random positive int64 values, in random order like the hashes the pipeline
   uses as node ids;
2. writes the edges into a fresh DuckDB file and stitches them with
   `dbt run-operation stitch_edges`, keeping the rounds and the stitching time the macro
   logs, plus the wall time and peak RSS of the whole dbt process;
3. stitches the same edges with scipy: dense ids from `pandas.factorize`, a CSR matrix,
   `scipy.sparse.csgraph.connected_components`;
4. checks, node by node, that both give the same partition.

The table goes to stdout, progress to stderr, the figures to a JSON file; the exit code
is 1 when a partition differs, 2 when a step fails.

    python -m bench.stitching --edges 100k 1m 10m
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT = str(Path(sys.executable).with_name("dbt"))
DEFAULT_JSON = PROJECT_DIR / "bench" / "results" / "stitching.json"
STITCH_ARGS = "{edges: main.edges, output: main.components}"
CONVERGED = re.compile(r"connected components: converged in (\d+) rounds, ([\d.]+) s")
RELABEL = "pandas.factorize"

MIN_EDGES = 1_000
BIG_SHARE = 0.05  # share of the edges in stars, and again in chains
BIG_SIZE = 1_000  # leaves of a star, nodes of a chain (edges / 100 for smaller graphs)
SMALL_SIZE_P = 0.5  # small component sizes 1 + Geometric(p): 2, 3, 4, ... with mean 3
EXTRA_EDGE_SHARE = 0.3  # extra edges inside small components, per spanning-tree edge

COLUMNS = (
    "edges",
    "nodes",
    "components",
    "rounds",
    "SQL s",
    "scipy e2e s",
    "scipy cc s",
    "SQL/e2e",
    "SQL/cc",
    "dbt wall s",
    "dbt RSS MiB",
    "partition",
)


class BenchmarkError(RuntimeError):
    """A step of the benchmark failed (not a partition mismatch)."""


@dataclass(frozen=True)
class GraphShape:
    stars: int
    star_leaves: int
    chains: int
    chain_nodes: int
    small_components: int
    small_nodes: int

    @property
    def nodes(self) -> int:
        return (
            self.stars * (self.star_leaves + 1) + self.chains * self.chain_nodes + self.small_nodes
        )

    @property
    def components(self) -> int:
        return self.stars + self.chains + self.small_components


@dataclass(frozen=True)
class Graph:
    node_a: np.ndarray
    node_b: np.ndarray
    shape: GraphShape


@dataclass(frozen=True)
class Block:
    """Edges of some components over dense node numbers 0 .. nodes - 1."""

    node_a: np.ndarray
    node_b: np.ndarray
    nodes: int


@dataclass(frozen=True)
class Partition:
    """Every node with its component, named by the component's smallest node id."""

    node_ids: np.ndarray
    component_ids: np.ndarray

    @property
    def nodes(self) -> int:
        return int(pd.Index(self.node_ids).nunique())

    @property
    def components(self) -> int:
        return int(pd.Index(self.component_ids).nunique())


@dataclass(frozen=True)
class SqlRun:
    rounds: int
    seconds: float
    wall_seconds: float
    peak_rss_mib: float
    nodes: int
    components: int


@dataclass(frozen=True)
class ScipyRun:
    relabel_seconds: float
    build_seconds: float
    cc_seconds: float
    nodes: int
    components: int

    @property
    def end_to_end_seconds(self) -> float:
        return self.relabel_seconds + self.build_seconds + self.cc_seconds


@dataclass(frozen=True)
class SizeResult:
    edges: int
    shape: GraphShape
    sql: SqlRun
    scipy: ScipyRun
    mismatching_nodes: int

    @property
    def match(self) -> bool:
        same_counts = (self.sql.nodes, self.sql.components) == (
            self.scipy.nodes,
            self.scipy.components,
        )
        return self.mismatching_nodes == 0 and same_counts

    def to_json(self) -> dict[str, object]:
        return {
            "edges": self.edges,
            "nodes": self.scipy.nodes,
            "components": self.scipy.components,
            "graph": {
                **asdict(self.shape),
                "nodes": self.shape.nodes,
                "components": self.shape.components,
            },
            "sql": asdict(self.sql),
            "scipy": {**asdict(self.scipy), "end_to_end_seconds": self.scipy.end_to_end_seconds},
            "ratio_sql_to_scipy_end_to_end": self.sql.seconds / self.scipy.end_to_end_seconds,
            "ratio_sql_to_scipy_cc": self.sql.seconds / self.scipy.cc_seconds,
            "partition": {"match": self.match, "mismatching_nodes": self.mismatching_nodes},
        }


def parse_size(text: str) -> int:
    """'5k', '100k', '1m', '2.5m' or a plain number of edges."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", text.strip().lower())
    if found is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 100k or 1m)")
    edges = round(float(found[1]) * {"": 1, "k": 1_000, "m": 1_000_000}[found[2]])
    if edges < MIN_EDGES:
        raise argparse.ArgumentTypeError(f"at least {MIN_EDGES:,} edges, not {text!r}")
    return edges


def generate_graph(edges: int, seed: int) -> Graph:
    """An identity-like graph with exactly `edges` edges, the same for the same arguments.

    - 5% of the edges in stars (a hub and its leaves, like a shared device or a default
      e-mail address) and 5% in chains (a path of nodes); both have 1,000 leaves or nodes,
      edges / 100 below 100k edges;
    - the rest in small components: sizes 2, 3, 4, ... (1 + geometric, mean 3), each a
      random spanning tree, plus 30% extra edges (per tree edge) that close cycles inside
      components of 3 nodes or more. No edge repeats another.

    Node ids are distinct random positive int64 values, so in random order; the edges are
    shuffled and each is given a random direction.
    """
    rng = np.random.default_rng([seed, edges])
    big = min(BIG_SIZE, edges // 100)
    stars = max(1, round(edges * BIG_SHARE / big))
    chains = max(1, round(edges * BIG_SHARE / (big - 1)))
    small_edges = edges - stars * big - chains * (big - 1)
    sizes = _small_component_sizes(rng, round(small_edges / (1 + EXTRA_EDGE_SHARE)))
    blocks = [_stars(stars, big), _chains(chains, big), _small_components(rng, sizes, small_edges)]
    dense_a, dense_b = _stack(blocks)
    ids = _random_ids(rng, sum(block.nodes for block in blocks))
    order = rng.permutation(edges)
    node_a, node_b = ids[dense_a[order]], ids[dense_b[order]]
    flip = rng.random(edges) < 0.5
    shape = GraphShape(stars, big, chains, big, sizes.size, int(sizes.sum()))
    return Graph(np.where(flip, node_b, node_a), np.where(flip, node_a, node_b), shape)


def _stars(count: int, leaves: int) -> Block:
    hubs = np.repeat(np.arange(count, dtype=np.int64) * (leaves + 1), leaves)
    return Block(hubs, hubs + np.tile(np.arange(1, leaves + 1), count), count * (leaves + 1))


def _chains(count: int, length: int) -> Block:
    starts = np.repeat(np.arange(count, dtype=np.int64) * length, length - 1)
    nodes = starts + np.tile(np.arange(length - 1), count)
    return Block(nodes, nodes + 1, count * length)


def _small_component_sizes(rng: np.random.Generator, tree_edges: int) -> np.ndarray:
    """Sizes 1 + Geometric(p) whose spanning trees have exactly `tree_edges` edges."""
    sizes = np.empty(0, dtype=np.int64)
    while (sizes - 1).sum() < tree_edges:
        sizes = np.concatenate([sizes, 1 + rng.geometric(SMALL_SIZE_P, tree_edges // 2 + 16)])
    last = int(np.searchsorted(np.cumsum(sizes - 1), tree_edges))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= (sizes - 1).sum() - tree_edges
    return sizes


def _small_components(rng: np.random.Generator, sizes: np.ndarray, edges: int) -> Block:
    """Random recursive spanning trees (node i of a component hooks onto one of its nodes
    0 .. i - 1), plus extra edges from distinct nodes i > 1 to one of the nodes 0 .. i - 1
    other than their parent: each closes a cycle, and no edge repeats another."""
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    local = np.arange(starts.size) - starts
    children = np.flatnonzero(local > 0)
    parents = np.zeros(starts.size, dtype=np.int64)
    parents[children] = rng.random(children.size) * local[children]
    tails = rng.choice(np.flatnonzero(local > 1), edges - children.size, replace=False)
    others = rng.integers(0, local[tails] - 1)
    heads = others + (others >= parents[tails])
    return Block(
        np.concatenate([children, tails]),
        starts[np.concatenate([children, tails])] + np.concatenate([parents[children], heads]),
        int(starts.size),
    )


def _stack(blocks: Sequence[Block]) -> tuple[np.ndarray, np.ndarray]:
    """The blocks' edges side by side, each block's node numbers after the previous ones."""
    offsets = np.cumsum([0] + [block.nodes for block in blocks[:-1]])
    shifted = [
        (block.node_a + offset, block.node_b + offset)
        for block, offset in zip(blocks, offsets, strict=True)
    ]
    return np.concatenate([a for a, _ in shifted]), np.concatenate([b for _, b in shifted])


def _random_ids(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct random positive int64 values."""
    while True:
        ids = rng.integers(1, np.iinfo(np.int64).max, size=count, dtype=np.int64)
        if not pd.Index(ids).has_duplicates:
            return ids


def stitch_with_sql(graph: Graph, work_dir: Path) -> tuple[SqlRun, Partition]:
    """The edges in a fresh DuckDB file, stitched by `dbt run-operation stitch_edges`."""
    database = work_dir / "graph.duckdb"
    write_edges(graph, database)
    lines, wall_seconds, peak_rss_mib = _run_dbt(database, work_dir)
    converged = next(filter(None, map(CONVERGED.search, lines)), None)
    if converged is None:
        raise BenchmarkError("dbt did not log 'converged in N rounds':\n" + "\n".join(lines))
    partition = read_components(database)
    sql = SqlRun(
        rounds=int(converged[1]),
        seconds=float(converged[2]),
        wall_seconds=wall_seconds,
        peak_rss_mib=peak_rss_mib,
        nodes=partition.nodes,
        components=partition.components,
    )
    return sql, partition


def write_edges(graph: Graph, database: Path) -> None:
    edges = pa.table({"node_a": graph.node_a, "node_b": graph.node_b})
    with duckdb.connect(str(database)) as connection:
        connection.register("generated_edges", edges)
        connection.execute("create table edges as select node_a, node_b from generated_edges")


def read_components(database: Path) -> Partition:
    with duckdb.connect(str(database), read_only=True) as connection:
        columns = connection.execute("select node_id, component_id from components").fetchnumpy()
    return Partition(np.asarray(columns["node_id"]), np.asarray(columns["component_id"]))


def _run_dbt(database: Path, work_dir: Path) -> tuple[list[str], float, float]:
    """dbt's output lines, its wall time and its peak RSS (MiB); its round lines go to stderr.

    dbt writes its target and logs in `work_dir`, so a run never touches the project's.
    """
    command = [DBT, "run-operation", "stitch_edges", "--args", STITCH_ARGS]
    command += ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    env = {
        **os.environ,
        "OMNI360_DB": str(database),
        "OMNI360_TARGET": "duckdb",
        "DBT_TARGET_PATH": str(work_dir / "target"),
        "DBT_LOG_PATH": str(work_dir / "logs"),
        "DBT_USE_COLORS": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    lines = []
    started = time.perf_counter()
    with subprocess.Popen(
        command, cwd=work_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout:
            lines.append(line.rstrip())
            if "connected components:" in line:
                _progress("    " + line.split("connected components:")[1].strip())
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall_seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise BenchmarkError(f"dbt exited with {process.returncode}:\n" + "\n".join(lines[-30:]))
    return lines, wall_seconds, usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def stitch_with_scipy(graph: Graph) -> tuple[ScipyRun, Partition]:
    """Dense ids, a CSR matrix and its connected components, each step timed."""
    started = time.perf_counter()
    codes, node_ids = pd.factorize(np.concatenate([graph.node_a, graph.node_b]))
    relabelled = time.perf_counter()
    edges, nodes = graph.node_a.size, node_ids.size
    ones = np.ones(edges)
    matrix = coo_array((ones, (codes[:edges], codes[edges:])), shape=(nodes, nodes)).tocsr()
    built = time.perf_counter()
    components, labels = connected_components(matrix, directed=False)
    finished = time.perf_counter()
    smallest = pd.Series(node_ids).groupby(labels).min().to_numpy()
    run = ScipyRun(
        relabel_seconds=relabelled - started,
        build_seconds=built - relabelled,
        cc_seconds=finished - built,
        nodes=nodes,
        components=components,
    )
    return run, Partition(node_ids, smallest[labels])


def count_mismatches(found: Partition, expected: Partition) -> int:
    """Nodes of `expected` that `found` misses or puts in another component, plus rows of
    `found` whose node `expected` does not know or that repeat a node."""
    positions = pd.Index(expected.node_ids).get_indexer(found.node_ids)
    known = positions >= 0
    right = found.component_ids[known] == expected.component_ids[positions[known]]
    agreeing = np.zeros(expected.node_ids.size, dtype=bool)
    agreeing[positions[known][right]] = True
    repeated = found.node_ids.size - found.nodes
    return int(expected.node_ids.size - agreeing.sum() + (~known).sum() + repeated)


def bench_size(edges: int, seed: int) -> SizeResult:
    _progress(f"{edges:,} edges: generating the graph")
    graph = generate_graph(edges, seed)
    _progress(f"{edges:,} edges: stitching in SQL (dbt run-operation stitch_edges)")
    with tempfile.TemporaryDirectory(prefix="omni360-stitching-") as work_dir:
        sql, sql_partition = stitch_with_sql(graph, Path(work_dir))
    _progress(f"{edges:,} edges: stitching with scipy")
    scipy_run, scipy_partition = stitch_with_scipy(graph)
    _progress(f"{edges:,} edges: comparing the partitions")
    mismatching = count_mismatches(sql_partition, scipy_partition)
    return SizeResult(edges, graph.shape, sql, scipy_run, mismatching)


def _row(result: SizeResult) -> tuple[str, ...]:
    sql, scipy_run = result.sql, result.scipy
    return (
        f"{result.edges:,}",
        f"{scipy_run.nodes:,}",
        f"{scipy_run.components:,}",
        str(sql.rounds),
        f"{sql.seconds:.3f}",
        f"{scipy_run.end_to_end_seconds:.3f}",
        f"{scipy_run.cc_seconds:.3f}",
        f"{sql.seconds / scipy_run.end_to_end_seconds:.2f}",
        f"{sql.seconds / scipy_run.cc_seconds:.2f}",
        f"{sql.wall_seconds:.1f}",
        f"{sql.peak_rss_mib:,.0f}",
        "MATCH" if result.match else f"{result.mismatching_nodes:,} mismatching",
    )


def format_table(results: Sequence[SizeResult]) -> str:
    rows = [COLUMNS, *map(_row, results)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    rows.insert(1, tuple("-" * width for width in widths))
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    )


def environment() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def write_json(path: Path, results: Sequence[SizeResult], seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "seed": seed,
        "relabel": RELABEL,
        "environment": environment(),
        "match": all(result.match for result in results),
        "sizes": [result.to_json() for result in results],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.stitching", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--edges", nargs="+", type=parse_size, default=[100_000], help="sizes, e.g. 100k 1m 10m"
    )
    parser.add_argument("--seed", type=int, default=42, help="graph seed (default: 42)")
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help="results file (default: %(default)s)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        results = [bench_size(edges, args.seed) for edges in args.edges]
    except BenchmarkError as error:
        _progress(f"stitching benchmark failed: {error}")
        return 2
    env = environment()
    print(
        f"Connected components: dbt macro on DuckDB {env['duckdb']} vs scipy {env['scipy']} "
        f"(relabel: {RELABEL}), {env['cpus']} CPUs; seconds of one run each\n"
    )
    print(format_table(results))
    write_json(args.json, results, args.seed)
    _progress(f"results written to {args.json}")
    return 0 if all(result.match for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
