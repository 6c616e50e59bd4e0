#!/usr/bin/env python3
"""check_workflows.py: the CI files users copy (.github/workflows/, .clusterfuzzlite/) cannot run here, so
ctest (`workflows_syntax`) parses them with a YAML parser and checks their shape: each workflow has a name,
triggers and jobs, each job a runner and steps, each step `uses` (pinned to a version) or `run`; every `ci/`
script a workflow calls exists and is executable; the ClusterFuzzLite layout is the documented one; the
benchmark job feeds github-action-benchmark the file ci/bench writes; the property job keeps counterexamples.

  check_workflows.py SOURCE_DIR
"""
import os
import re
import sys

import yaml

EXPECTED = {"tests.yml", "cflite_pr.yml", "cflite_batch.yml", "fuzz.yml", "properties.yml", "bench.yml"}
errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def steps_of(wf):
    for job_name, job in wf.get("jobs", {}).items():
        for step in job.get("steps", []) or []:
            yield job_name, step


def check_workflow(src, path):
    where = os.path.relpath(path, src)
    with open(path) as f:
        try:
            wf = yaml.safe_load(f)
        except yaml.YAMLError as e:
            err(where, f"not valid YAML: {e}")
            return None
    if not isinstance(wf, dict):
        err(where, "not a mapping")
        return None
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    if not wf.get("name"):
        err(where, "no name")
    if not triggers:
        err(where, "no `on` triggers")
    jobs = wf.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        err(where, "no jobs")
        return wf
    for name, job in jobs.items():
        if not isinstance(job, dict) or "runs-on" not in job:
            err(where, f"job {name} has no runs-on")
            continue
        steps = job.get("steps")
        if not isinstance(steps, list) or not steps:
            err(where, f"job {name} has no steps")
            continue
        for i, step in enumerate(steps):
            if not isinstance(step, dict) or (("uses" in step) == ("run" in step)):
                err(where, f"job {name} step {i}: exactly one of uses/run")
                continue
            if "uses" in step and not re.fullmatch(r"[\w.-]+/[\w./-]+@[\w.-]+", step["uses"]):
                err(where, f"job {name} step {i}: `uses: {step['uses']}` is not owner/repo@version")
            for script in re.findall(r"(?<![\w/.])(ci/[\w.-]+)", step.get("run", "")):
                full = os.path.join(src, script)
                if not (os.path.isfile(full) and os.access(full, os.X_OK)):
                    err(where, f"job {name} calls {script}, which is not an executable file in the repository")
    return wf


def runs(wf):
    return "\n".join(str(s.get("run", "")) for _, s in steps_of(wf))


def uses(wf):
    return [s for _, s in steps_of(wf) if "uses" in s]


def main():
    src = os.path.abspath(sys.argv[1])
    wdir = os.path.join(src, ".github", "workflows")
    found = {f for f in os.listdir(wdir) if f.endswith((".yml", ".yaml"))}
    for missing in sorted(EXPECTED - found):
        err(".github/workflows", f"{missing} is missing")
    wfs = {f: check_workflow(src, os.path.join(wdir, f)) for f in sorted(found)}

    # Jobs on the project's scripts.
    for f, script in (("tests.yml", "ci/test"), ("fuzz.yml", "ci/fuzz"), ("properties.yml", "ci/properties"),
                      ("bench.yml", "ci/bench")):
        if wfs.get(f) and not re.search(rf"(?<![\w/.]){re.escape(script)}\b", runs(wfs[f])):
            err(f, f"does not call {script}")
    if wfs.get("properties.yml"):
        wf = wfs["properties.yml"]
        triggers = wf.get("on", wf.get(True)) or {}
        if "schedule" not in triggers:
            err("properties.yml", "not scheduled (nightly)")
        if "--long" not in runs(wf):
            err("properties.yml", "does not run ci/properties --long (random seed)")
        if not any(s["uses"].startswith("actions/upload-artifact@") and "failure()" in str(s.get("if", ""))
                   for s in uses(wf)):
            err("properties.yml", "no artifact upload of the counterexample on failure")
    if wfs.get("bench.yml"):
        steps = [s for s in uses(wfs["bench.yml"]) if s["uses"].startswith("benchmark-action/github-action-benchmark@")]
        if not steps:
            err("bench.yml", "no github-action-benchmark step")
        for s in steps:
            w = s.get("with", {})
            out = w.get("output-file-path", "")
            with open(os.path.join(src, "ci", "bench")) as f:
                bench = f.read()
            if not out or os.path.basename(out) not in bench:
                err("bench.yml", f"output-file-path {out!r} is not a file ci/bench writes")
            if w.get("tool") != "customSmallerIsBetter":
                err("bench.yml", "tool must be customSmallerIsBetter (what benches/tools/convert.py writes)")

    # ClusterFuzzLite: .clusterfuzzlite/{project.yaml,Dockerfile,build.sh} and the actions on the same language.
    cfl = os.path.join(src, ".clusterfuzzlite")
    try:
        with open(os.path.join(cfl, "project.yaml")) as f:
            project = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        err(".clusterfuzzlite/project.yaml", str(e))
        project = {}
    language = project.get("language")
    if language not in ("c", "c++"):
        err(".clusterfuzzlite/project.yaml", f"language is {language!r}, not c++")
    try:
        with open(os.path.join(cfl, "Dockerfile")) as f:
            docker = f.read()
    except OSError as e:
        err(".clusterfuzzlite/Dockerfile", str(e))
        docker = ""
    if not re.search(r"^FROM gcr\.io/oss-fuzz-base/base-builder\b", docker, re.M):
        err(".clusterfuzzlite/Dockerfile", "not FROM gcr.io/oss-fuzz-base/base-builder")
    if not re.search(r"^COPY \. \$SRC/\S+", docker, re.M):
        err(".clusterfuzzlite/Dockerfile", "does not COPY the checkout into $SRC")
    if not re.search(r"^COPY \.clusterfuzzlite/build\.sh \$SRC/?$", docker, re.M):
        err(".clusterfuzzlite/Dockerfile", "does not COPY .clusterfuzzlite/build.sh to $SRC/")
    build = os.path.join(cfl, "build.sh")
    if not (os.path.isfile(build) and os.access(build, os.X_OK)):
        err(".clusterfuzzlite/build.sh", "missing or not executable")
    else:
        with open(build) as f:
            text = f.read()
        for script in re.findall(r"\$SRC/snapvm/([\w./-]+)", text):
            if not os.access(os.path.join(src, script), os.X_OK):
                err(".clusterfuzzlite/build.sh", f"calls {script}, which is not an executable file")
    for f in ("cflite_pr.yml", "cflite_batch.yml"):
        if not wfs.get(f):
            continue
        acts = {s["uses"].split("@")[0]: s for s in uses(wfs[f])}
        for a in ("google/clusterfuzzlite/actions/build_fuzzers", "google/clusterfuzzlite/actions/run_fuzzers"):
            if a not in acts:
                err(f, f"no {a} step")
        b = acts.get("google/clusterfuzzlite/actions/build_fuzzers")
        if b and b.get("with", {}).get("language") != language:
            err(f, f"build_fuzzers language differs from project.yaml ({language})")
        r = acts.get("google/clusterfuzzlite/actions/run_fuzzers")
        want = "code-change" if f == "cflite_pr.yml" else "batch"
        if r and r.get("with", {}).get("mode") != want:
            err(f, f"run_fuzzers mode is not {want}")

    for e in errors:
        print("check_workflows:", e, file=sys.stderr)
    if not errors:
        print(f"check_workflows: {len(wfs)} workflows and .clusterfuzzlite/ ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
