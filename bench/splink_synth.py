#!/usr/bin/env python3
"""Splink (DuckDB backend) on a dprofile NDJSON batch, side by side with `dprofile resolve`.

Reads the same file `dprofile resolve` reads, flattens each record key's latest readable subject
into one row, trains a Fellegi-Sunter model the Splink way (u by random sampling, m by EM),
predicts over blocking rules comparable to dprofile's, clusters at 0.95 and writes
`source,source_ref,person` so that `dprofile-bench quality` scores it like dprofile's output.

Names are folded to Latin by a small table (below): Russian Cyrillic by ICAO 9303, the Central
Asian Cyrillic letters by their usual Latin, then lowercased with everything but a-z dropped.
It does not fold Latin schemes into each other (Abdoullaev stays apart from Abdullaev); the
Jaro-Winkler levels catch part of that, as they would for a Splink user.

Usage: python bench/splink_synth.py FILE.ndjson --out splink-assign.csv [--threads N]
Needs: pip install 'splink>=5' duckdb pandas
"""

import argparse
import json
import sys
import time

import duckdb
import pandas as pd
import splink
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

# ICAO 9303 for Russian, plus the letters of Uzbek, Tajik, Kazakh and Kyrgyz Cyrillic.
CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu",
    "я": "ia", "ў": "u", "қ": "q", "ғ": "g", "ҳ": "h", "ә": "a", "ө": "o", "ү": "u",
    "ң": "ng", "ұ": "u", "і": "i", "һ": "h", "ҷ": "j", "ӣ": "i",
}


def fold(text):
    """Lowercase Latin letters only, Cyrillic transliterated by the table above."""
    if not text:
        return None
    out = []
    for character in text.lower():
        if "a" <= character <= "z":
            out.append(character)
        elif character in CYRILLIC_TO_LATIN:
            out.append(CYRILLIC_TO_LATIN[character])
    folded = "".join(out)
    return folded or None


def read_rows(path):
    """One row per (source, source_ref): the latest upsert revision with a subject; keys
    with none (retracted only, no subject) are returned apart and stand alone."""
    latest = {}
    keys = []
    with open(path, "rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            source, source_ref = record.get("source"), record.get("source_ref")
            if not source or not source_ref:
                continue
            key = (source, source_ref)
            if key not in latest:
                latest[key] = None
                keys.append(key)
            if record.get("action", "upsert") != "upsert":
                continue
            subject = record.get("subject")
            if not isinstance(subject, dict):
                continue
            revision = record.get("revision", 1)
            held = latest[key]
            if held is None or revision > held[0]:
                latest[key] = (revision, subject)
    rows = []
    alone = []
    for key in keys:
        held = latest[key]
        if held is None:
            alone.append(key)
            continue
        subject = held[1]
        names = subject.get("names") or [{}]
        # Prefer a Latin spelling when there is one: it needs no transliteration guess.
        name = next((n for n in names if n.get("script") == "Latn"), names[0])
        birth_date = subject.get("birth_date")
        full_date = birth_date if birth_date and len(birth_date) == 10 else None
        passport = next(
            (
                f"{d.get('country')}:{d.get('number')}"
                for d in subject.get("documents") or []
                if d.get("kind") == "passport"
            ),
            None,
        )
        identifiers = subject.get("identifiers") or {}
        rows.append(
            {
                "unique_id": len(rows),
                "source": key[0],
                "source_ref": key[1],
                "family": fold(name.get("family")),
                "given": fold(name.get("given")),
                "patronymic": fold(name.get("patronymic")),
                "birth_date": full_date,
                "birth_year": birth_date[:4] if birth_date else None,
                "sex": subject.get("sex"),
                "citizenship": subject.get("citizenship"),
                "passport": passport,
                "snils": identifiers.get("snils"),
                "inn": identifiers.get("inn"),
            }
        )
    return pd.DataFrame(rows), alone


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    started = time.perf_counter()

    frame, alone = read_rows(args.file)
    read_seconds = time.perf_counter() - started
    print(f"splink {splink.__version__}, duckdb {duckdb.__version__}", file=sys.stderr)
    print(f"read {len(frame)} records in {read_seconds:.1f} s", file=sys.stderr)

    connection = duckdb.connect()
    if args.threads:
        connection.execute(f"SET threads = {args.threads}")
    db_api = DuckDBAPI(connection)
    records = db_api.register(frame, table_name="records")

    def names(column):
        # Exact, then Jaro-Winkler >= 0.95 and >= 0.88: dprofile's close and fuzzy levels.
        return cl.JaroWinklerAtThresholds(column, [0.95, 0.88])

    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            names("family").configure(term_frequency_adjustments=True),
            names("given").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("patronymic", [0.95]),
            cl.DateOfBirthComparison(
                "birth_date", input_is_string=True, datetime_format="%Y-%m-%d"
            ),
            cl.ExactMatch("sex"),
            cl.ExactMatch("citizenship"),
            cl.ExactMatch("passport"),
            cl.ExactMatch("snils"),
            cl.ExactMatch("inn"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("passport"),
            block_on("snils"),
            block_on("inn"),
            block_on("family", "birth_year"),
            block_on("given", "birth_date"),
            # Swapped family and given names (within a birth year, as dprofile's rule).
            "l.family = r.given and l.given = r.family and l.birth_year = r.birth_year",
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(records, settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("passport"), block_on("snils")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=7)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("family", "birth_date")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given", "birth_date")
    )
    # The name-and-date sessions cannot train the birth date: a passport session does.
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("passport"))
    trained = time.perf_counter()

    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.95
    )
    assigned = clusters.as_pandas_dataframe()[["source", "source_ref", "cluster_id"]]
    # Cluster ids are record ids; keys without a readable subject get their own numbers.
    with open(args.out, "w", encoding="utf-8") as out:
        out.write("source,source_ref,person\n")
        for source, source_ref, cluster in assigned.itertuples(index=False):
            out.write(f"{source},{source_ref},{cluster}\n")
        for number, (source, source_ref) in enumerate(alone):
            out.write(f"{source},{source_ref},alone-{number}\n")
    finished = time.perf_counter()
    print(
        f"splink resolved {len(frame)} records into {assigned['cluster_id'].nunique()} "
        f"persons in {finished - started:.1f} s (reading {read_seconds:.1f} s, training "
        f"{trained - started - read_seconds:.1f} s, predicting and clustering "
        f"{finished - trained:.1f} s)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
